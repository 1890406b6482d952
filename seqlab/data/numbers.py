"""Numbers in users' CSV columns: decimal marks, thousands separators, missing values, refused ambiguities."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..config import config_error

AUTO = "auto"
_MISSING = ("", "na", "n/a", "nan", "null", "none", "-nan", "#n/a", "nat", "<na>")
MISSING = frozenset(v for m in _MISSING for v in (m, m.upper(), m.title(), f" {m}", f"{m} ", m.upper() + " "))
_NUMBERISH = re.compile(r"[\d\s.,'+\-\u00a0eE]+|[+-]?(inf|infinity)")
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?$")
_NAMES = {",": "','", ";": "';'", "\t": "'\\t' (tab)", "|": "'|'", ".": "'.'", " ": "' ' (space)", "'": "\"'\""}


def char_name(ch: str) -> str:
    """A separator or mark as messages name it (',' or '\\t' (tab))."""
    return _NAMES.get(ch, repr(ch))


def _missing(values: pd.Series) -> pd.Series:
    return values.isin(MISSING) | (values.str.len() == 0) if len(values) else values.astype(bool)


def _to_number(values: pd.Series, decimal: str, thousands: Optional[str]) -> pd.Series:
    """Strings -> float64 with the given marks; NaN where the text is not a number (missing values included)."""
    v = values.str.strip()
    if thousands:
        v = v.str.replace(thousands, "", regex=False)
    if decimal != ".":
        if "." in v.str.cat() and thousands != ".":
            # "1.5" under a decimal comma is not a number (unless "." is the thousands separator)
            v = v.where(~v.str.contains(".", regex=False), "x")
        v = v.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(v, errors="coerce")


def _first_bad(values: pd.Series, parsed: pd.Series, lines: np.ndarray) -> Tuple[int, str]:
    bad = parsed.isna() & ~_missing(values)
    i = int(np.flatnonzero(bad.to_numpy())[0])
    return int(lines[i]), str(values.iloc[i])


def _column_kind(values: pd.Series) -> str:
    """'empty', 'dot' (reads with a decimal point), 'comma' (only with a decimal comma), or 'text'."""
    present = values[~_missing(values)]
    if present.empty:
        return "empty"
    if not present.iloc[:200].str.strip().str.fullmatch(_NUMBERISH).all():  # dates, words: no number parsing
        return "text"
    present = present.str.strip()
    if pd.to_numeric(present, errors="coerce").notna().all():  # the C fast path; "inf"/"1e5" included
        return "dot"
    if present.str.fullmatch(_DECIMAL_COMMA).all():
        return "comma"
    return "text"


def _grouped(thousands: str, decimal: str) -> re.Pattern:
    t, d = re.escape(thousands), re.escape(decimal)
    return re.compile(rf"^[+-]?(\d{{1,3}}(?:{t}\d{{3}})+|\d+)(?:{d}\d+)?$")


_THOUSANDS = ((",", "."), (".", ","), (" ", "."), (" ", ","), ("\u00a0", "."), ("\u00a0", ","), ("'", "."))


def _needs_thousands(values: pd.Series) -> Optional[Tuple[str, str]]:
    """(thousands, decimal) that make a text column numeric, if a pair does ("1,234.5", "1.234,5", "1 234")."""
    present = values[~_missing(values)].str.strip()
    digits = r"[\d\s.,'+\-\u00a0]+"
    if not present.iloc[:200].str.fullmatch(digits).all() or not present.str.fullmatch(digits).all():
        return None
    for thousands, decimal in _THOUSANDS:
        if present.str.contains(thousands, regex=False).any() and present.str.fullmatch(
                _grouped(thousands, decimal)).all():
            return thousands, decimal
    return None


def convert_columns(frame: pd.DataFrame, path: Path, sep: str, decimal: str, thousands: Optional[str],
                    prefix: str, lines: Callable[[], np.ndarray], notes: List[str],
                    dotted: Sequence[str] = ()) -> Tuple[pd.DataFrame, str, List[str]]:
    """Text columns to float64 where they are numbers under the file's decimal mark (detected when `auto`).

    `dotted` names columns already read as numbers with a decimal point (evidence against a decimal comma).
    Returns (frame, decimal used, string columns). Refuses a column that is numeric only after removing a
    thousands separator the user did not name, and a file that mixes decimal points and decimal commas.
    """
    kinds = {c: _column_kind(frame[c]) for c in frame.columns}
    if decimal == AUTO:
        comma = [c for c, k in kinds.items() if k == "comma"]
        dotted = list(dotted) + [c for c, k in kinds.items()
                                 if k == "dot" and frame[c].str.contains(".", regex=False).any()]
        if comma and sep == ",":
            # a decimal comma in a comma-separated file only fits inside quotes, which is where thousands go too
            c = comma[0]
            line, value = _first_bad(frame[c], _to_number(frame[c], ".", None), lines())
            raise config_error(f"{prefix}.decimal", f"an unambiguous number in column {c!r} of {path.name}",
                               f"{value!r} on line {line}: a decimal comma or a thousands separator? set "
                               "dataset.decimal=',' or dataset.thousands=','")
        if comma and dotted:
            line, value = _first_bad(frame[comma[0]], _to_number(frame[comma[0]], ".", None), lines())
            raise config_error(f"{prefix}.decimal", f"one decimal mark in {path.name}",
                               f"decimal commas (column {comma[0]!r}, {value!r} on line {line}) and decimal points "
                               f"(column {dotted[0]!r}): set dataset.decimal")
        decimal = "," if comma else "."
        if comma:
            notes.append(f"decimal comma detected (columns {', '.join(comma)})")
    numeric, strings = {}, []
    for c in frame.columns:
        if kinds[c] == "text" and thousands is None and _needs_thousands(frame[c]) is None:
            strings.append(c)
            continue
        parsed = _to_number(frame[c], decimal, thousands)
        missing = _missing(frame[c])
        if (parsed.notna() | missing).all() and not missing.all():
            numeric[c] = parsed.astype(np.float64)
            continue
        if thousands is None and kinds[c] == "text":
            found = _needs_thousands(frame[c])
            if found is not None:
                line, value = _first_bad(frame[c], parsed, lines())
                fix = f"dataset.thousands={char_name(found[0])}" + (
                    f" dataset.decimal={char_name(found[1])}" if found[1] != decimal else "")
                raise config_error(f"{prefix}.thousands", f"plain numbers in column {c!r} of {path.name}",
                                   f"{value!r} on line {line}, numeric only without its thousands separator: "
                                   f"set {fix}")
        strings.append(c)
    out = frame.copy()
    for c, v in numeric.items():
        out[c] = v
    for c in strings:
        out[c] = frame[c].where(~_missing(frame[c]), None)
    return out, decimal, strings
