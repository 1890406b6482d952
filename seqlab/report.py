"""`seqlab report DIR`: one table of every run and sweep trial under DIR, written as CSV and Markdown.

Reads only metrics.json and .hydra/config.yaml (no TensorFlow, no OmegaConf), so 2,000 runs answer in about a
second (benchmarks/report_scale.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pandas as pd
import yaml

from .config import flat
from .config.metric import metric_direction
from .train.outputs import atomic_write, write_text

log = logging.getLogger(__name__)

ALWAYS = ["model.name", "dataset.name"]  # shown even when every run has the same value
CONFIG_FILES = (".hydra/config.yaml", "config.yaml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


def flatten(node: Any) -> Dict[str, Any]:
    """{"model": {"units": 8}} -> {"model.units": 8}; lists become JSON text so they compare as one value."""
    return flat.flatten(node, lists="json")


def find_runs(root: Path) -> List[Path]:
    """Every folder under `root` (itself included) that holds a metrics.json, in path order."""
    root = Path(root)
    return sorted(p.parent for p in root.rglob("metrics.json") if p.is_file())


_PLAIN: Dict[str, Any] = {}  # plain scalar text -> its value ("0.001" -> 0.001): configs repeat most of them


def load_yaml(text: str) -> Any:
    """YAML as plain Python, fast for block-style config files: libyaml's parser events are assembled here, and
    each distinct plain scalar is resolved once (yaml's constructor took 80% of the time). Anchors and tags, which
    OmegaConf never writes, go through yaml's own loader."""
    stack: List[Any] = []
    keys: List[Any] = []
    root: Any = None
    for ev in yaml.parse(text, Loader=_LOADER):
        kind = type(ev)
        if kind is yaml.ScalarEvent:
            if ev.anchor or (ev.tag and ev.tag != "!"):
                return yaml.load(text, Loader=_LOADER)
            if not ev.style:  # plain: null, true, 3, 0.001, or text
                value = _PLAIN.get(ev.value, _PLAIN)
                if value is _PLAIN:
                    value = _PLAIN[ev.value] = yaml.load(ev.value, Loader=_LOADER) if ev.value else None
            else:
                value = ev.value
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if ev.anchor or (ev.tag and ev.tag not in ("!", None)):
                return yaml.load(text, Loader=_LOADER)
            stack.append({} if kind is yaml.MappingStartEvent else [])
            keys.append(None)
            continue
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            value = stack.pop()
            keys.pop()
        elif kind is yaml.AliasEvent:
            return yaml.load(text, Loader=_LOADER)
        else:
            continue
        if not stack:
            root = value
        elif isinstance(stack[-1], list):
            stack[-1].append(value)
        elif keys[-1] is None:
            keys[-1] = (value,)
        else:
            stack[-1][keys[-1][0]] = value
            keys[-1] = None
    return root


def _load_config(run: Path) -> Dict[str, Any]:
    """The run's recorded config as flat keys; {} (and one log line) when it is missing or does not parse.

    Read with libyaml's safe loader (a plain mapping, interpolations left as text): OmegaConf's own loader took
    92% of a 2,000-run report."""
    for name in CONFIG_FILES:
        path = run / name
        if path.is_file():
            try:
                node = load_yaml(path.read_text(encoding="utf-8"))
                if not isinstance(node, dict):
                    raise ValueError(f"expected a mapping, got {type(node).__name__}")
                return flatten(node)
            except (OSError, ValueError, UnicodeDecodeError, yaml.YAMLError) as e:
                why = str(e).replace("\n", " ")[:160]
                log.warning("%s is unreadable (%s): its config columns stay empty", path, why)
                return {}
    log.warning("%s: no .hydra/config.yaml; its config columns stay empty", run)
    return {}


def _number(v: Any) -> Any:
    if isinstance(v, str) and v.lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        return float(v)  # metrics.json writes non-finite floats as text
    return v


def _read_metrics(run: Path) -> Dict[str, Any]:
    """metrics.json, or a row that says why it cannot be read (a truncated or half-copied file)."""
    try:
        m = json.loads((run / "metrics.json").read_text())
        if not isinstance(m, dict):
            raise ValueError(f"expected a JSON object, got {type(m).__name__}")
        return m
    except (OSError, ValueError, UnicodeDecodeError) as e:
        log.warning("%s/metrics.json is unreadable (%s): listed with status unreadable", run, e)
        return {"status": "unreadable", "error": {"message": f"metrics.json: {str(e)[:120]}"}}


def _row(run: Path, root: Path) -> Dict[str, Any]:
    m = _read_metrics(run)
    rel = run.relative_to(root).as_posix()
    row: Dict[str, Any] = {"run": rel if rel != "." else run.name}
    for group in ("test", "baseline"):
        row.update({f"{group}.{k}": _number(v) for k, v in (m.get(group) or {}).items()})
    diag = m.get("diagnosis")
    row.update({
        "epochs": m.get("epochs"),
        "best_epoch": m.get("best_epoch"),
        "seconds": m.get("train_seconds"),
        "status": "pruned" if m.get("pruned") else m.get("status", "unknown"),  # a sweep's pruner stopped it
        "diagnosis": (diag.get("verdict") if isinstance(diag, dict) else diag) or "",
        "error": _why(m),
    })
    return row


def _why(m: Dict[str, Any]) -> str:
    """Why a run did not complete: a failed run's error (and stage), an interrupted run's signal and checkpoint."""
    status = m.get("status")
    if status in ("failed", "unreadable"):
        err = m.get("error") or {}
        where = f" in {err['stage']}" if err.get("stage") else ""
        return f"{err.get('type', '')}{where}: {err.get('message', '')}".strip(": ")[:160]
    if status == "interrupted":
        return f"{m.get('signal', 'interrupted')}; resume from {m.get('checkpoint')}"
    if status == "diverged":
        return ((m.get("diagnosis") or {}).get("message") or "")[:160]
    return ""


def collect(root: Path) -> pd.DataFrame:
    """One row per run: differing config keys, test metrics, baseline, epochs, time, status, diagnosis."""
    root = Path(root)
    runs = find_runs(root)
    if not runs:
        return pd.DataFrame()
    configs = [_load_config(r) for r in runs]
    rows = [_row(r, root) for r in runs]
    keys = sorted(set().union(*configs))
    # flat values are scalars (lists are JSON text); the type keeps 1, 1.0 and true apart
    differ = [k for k in keys if len({(type(v), v) for v in (c.get(k) for c in configs)}) > 1]
    cfg_cols = [k for k in ALWAYS if k in keys] + [k for k in differ if k not in ALWAYS]
    cfg_df = pd.DataFrame([{k: c.get(k) for k in cfg_cols} for c in configs], columns=cfg_cols)
    met_df = pd.DataFrame(rows)
    metric_cols = sorted((c for c in met_df.columns if c.startswith(("test.", "baseline."))),
                         key=lambda c: (not c.startswith("test."), not c.endswith(".loss"), c))
    tail = metric_cols + ["epochs", "best_epoch", "seconds", "status", "diagnosis", "error"]
    return pd.concat([met_df[["run"]], cfg_df, met_df[tail]], axis=1).convert_dtypes()  # 300.0 -> 300


def higher_is_better(column: str) -> bool:
    """Accuracy-like columns sort largest first; losses, errors, seconds and everything else smallest first."""
    return metric_direction(column) == "max"


def sort_table(df: pd.DataFrame, column: Optional[str], descending: Optional[bool] = None) -> pd.DataFrame:
    """Best first by `column` (losses and errors ascending, accuracy-like descending); missing values last."""
    if column is None:
        column = "test.loss" if "test.loss" in df.columns else None
        if column is None:
            return df
    if column not in df.columns:
        raise KeyError(f"--sort: no column {column!r} (choices: {', '.join(map(str, df.columns))})")
    if descending is None:
        descending = higher_is_better(column)
    key = pd.to_numeric(df[column], errors="coerce")
    if key.isna().all() and df[column].notna().any():  # a text column such as status or model.name
        key = df[column].astype("string")
    order = key.sort_values(ascending=not descending, na_position="last", kind="stable").index
    return df.loc[order].reset_index(drop=True)


def _cell(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|")


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="seqlab report", description="Table of every run / sweep trial under DIR.")
    p.add_argument("dir", type=Path, help="folder to search (outputs/, sweeps/, one sweep, one run)")
    p.add_argument("--sort", help="column to sort by, e.g. test.mse, test.accuracy, seconds (default: test.loss)")
    d = p.add_mutually_exclusive_group()
    d.add_argument("--desc", dest="descending", action="store_true", default=None, help="largest first")
    d.add_argument("--asc", dest="descending", action="store_false", help="smallest first")
    p.add_argument("--csv", type=Path, help="CSV path (default: DIR/report.csv)")
    p.add_argument("--md", type=Path, help="Markdown path (default: DIR/report.md)")
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `seqlab report` and `python -m seqlab.report`; returns the exit status."""
    args = parse_args(argv)
    if not args.dir.is_dir():
        print(f"error: {args.dir} is not a directory", file=sys.stderr)
        return 2
    df = collect(args.dir)
    if df.empty:
        print(f"error: no runs under {args.dir} (a run folder holds metrics.json and .hydra/config.yaml)",
              file=sys.stderr)
        return 1
    try:
        df = sort_table(df, args.sort, args.descending)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 40):
        print(df.astype(object).where(df.notna(), "").to_string(index=False))
    csv_path, md_path = args.csv or args.dir / "report.csv", args.md or args.dir / "report.md"
    try:
        atomic_write(csv_path, lambda tmp: df.to_csv(tmp, index=False))
        write_text(md_path, to_markdown(df))
    except OSError as e:
        where = e.filename or csv_path
        if args.csv or args.md:  # the user named the place: not writing there is an error
            print(f"error: cannot write {where}: {e.strerror or e}", file=sys.stderr)
            return 1
        print(f"\n{len(df)} runs; report.csv and report.md not written: {where}: {e.strerror or e} "
              "(choose where with --csv FILE --md FILE)", file=sys.stderr)
        return 0
    print(f"\n{len(df)} runs; written to {csv_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
