"""The config reference (docs/reference/config.md), generated from the schemas: every key, type, default, choices
and meaning, so that it cannot drift from the code. The meaning is the comment beside (or above) the field.

Regenerate with `python -m seqlab.config.reference > docs/reference/config.md`; tests/test_docs.py compares.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import tokenize
import typing
from typing import Any, Dict, Iterator, List, Tuple

from omegaconf import MISSING

from .schema import GROUPS, Config
from .store import describe_option


def _comments(cls: type) -> Dict[str, str]:
    """field name -> its comment in `cls`'s own source (trailing, else the comment lines right above it)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    source = inspect.cleandoc("\n" + source) if source.startswith((" ", "\t")) else source
    by_line: Dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            by_line[tok.start[0]] = tok.string.lstrip("#").strip()
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body[0].body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        text = by_line.get(node.end_lineno, "")
        if not text:
            above, k = [], node.lineno - 1
            while k >= 1 and lines[k - 1].strip().startswith("#"):
                above.insert(0, by_line.get(k, ""))
                k -= 1
            text = " ".join(above)
        out[node.target.id] = text
    return out


def _meaning(schema: type, name: str) -> str:
    """The field's comment in the nearest class (the schema or a base) that comments it."""
    for cls in schema.__mro__:
        if dataclasses.is_dataclass(cls) and name in cls.__dict__.get("__annotations__", {}):
            text = _comments(cls).get(name, "")
            if text:
                return text
    return ""


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return "any"
    if origin is typing.Union:
        kinds = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(kinds) + (" or null" if type(None) in args else "")
    if origin in (list, List):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin in (dict, Dict):
        return "mapping"
    return getattr(hint, "__name__", str(hint))


def _value(v: Any) -> str:
    if v is MISSING or v == "???":
        return "required"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (list, dict)) and not v:
        return "[]" if isinstance(v, list) else "{}"
    return str(v)


def rows(schema: type, prefix: str) -> Iterator[Tuple[str, str, str, str, str]]:
    """(key, type, default, choices, meaning) for every field of `schema`, nested schemas expanded."""
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        key, hint = f"{prefix}{f.name}", hints[f.name]
        if f.name == "name" and prefix.count(".") == 1:
            continue  # the option itself (`model=lstm`)
        if dataclasses.is_dataclass(hint):
            yield from rows(hint, key + ".")
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        choices = ", ".join(_value(c) for c in f.metadata.get("choices", ()))
        yield key, _type_name(hint), _value(default), choices, _meaning(schema, f.name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(lines: List[str], schema: type, prefix: str) -> None:
    lines += ["| key | type | default | choices | meaning |", "|---|---|---|---|---|"]
    for key, kind, default, choices, meaning in rows(schema, prefix):
        lines.append(f"| `{key}` | {_cell(kind)} | `{_cell(default)}` | {_cell(choices)} | {_cell(meaning)} |")
    lines.append("")


def markdown() -> str:
    """The whole reference page."""
    from ..registry import registry

    lines = ["# Config reference", "",
             "Generated from the schemas (`python -m seqlab.config.reference > docs/reference/config.md`): every",
             "key of every option, its type, default, choices and meaning. Pick one option per group",
             "(`model=gru`), then override any of its keys (`model.units=64`). `python -m seqlab --cfg job ...`",
             "prints the composed config of a command.", "",
             "## Top level", ""]
    top = dataclasses.make_dataclass("Top", [(f.name, f.type, f) for f in dataclasses.fields(Config)
                                             if f.name not in GROUPS], bases=())
    top.__mro__  # noqa: B018 - a plain dataclass; meanings come from Config below
    lines += ["| key | type | default | choices | meaning |", "|---|---|---|---|---|"]
    hints = typing.get_type_hints(Config)
    for f in dataclasses.fields(Config):
        if f.name in GROUPS:
            continue
        lines.append(f"| `{f.name}` | {_type_name(hints[f.name])} | `{_value(f.default)}` |  | "
                     f"{_cell(_meaning(Config, f.name))} |")
    lines.append("")
    for group in GROUPS:
        lines += [f"## {group}", ""]
        by_schema: Dict[type, List[str]] = {}
        for entry in registry(group):
            by_schema.setdefault(entry.schema, []).append(entry)
        for schema, entries in by_schema.items():
            names = ", ".join(f"`{group}={e.name}`" for e in entries)
            lines += [f"### {names}", ""]
            lines += [f"- `{e.name}`: {describe_option(group, e.name) or e.help}" for e in entries] + [""]
            _table(lines, schema, f"{group}.")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
