"""Reading users' CSV files right or refusing them clearly: dialect (separator, decimal mark, thousands separator,
encoding), a pandas index column, numeric and string columns, and time columns (sorted, duplicates, gaps).

Nothing here guesses silently. A dialect that is detected is reported; a parse that is ambiguous (rows with more
or fewer fields than the header, numbers that read only after removing a thousands separator, decimal commas
next to decimal points) raises a ConfigError that names the file, the first offending line and the option to set.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..config import config_error

log = logging.getLogger(__name__)

AUTO = "auto"
SEPARATORS = (",", ";", "\t", "|")
_MISSING = ("", "na", "n/a", "nan", "null", "none", "-nan", "#n/a", "nat", "<na>")
MISSING = frozenset(v for m in _MISSING for v in (m, m.upper(), m.title(), f" {m}", f"{m} ", m.upper() + " "))
_SAMPLE_LINES = 200
_NUMBERISH = re.compile(r"[\d\s.,'+\-\u00a0eE]+|[+-]?(inf|infinity)")
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?$")
_NAMES = {",": "','", ";": "';'", "\t": "'\\t' (tab)", "|": "'|'", ".": "'.'", " ": "' ' (space)", "'": "\"'\""}


@dataclass
class Table:
    """A parsed file: the frame (numeric columns float64, others text), how it was read, and what was noticed."""

    frame: pd.DataFrame
    path: Path
    dialect: Dict[str, Any]  # sep, decimal, thousands, encoding
    string_columns: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)  # e.g. a pandas index column
    notes: List[str] = field(default_factory=list)

    def describe(self) -> Dict[str, Any]:
        """For metrics.json: how the file was read and which columns are text."""
        return {"dialect": dict(self.dialect), "string_columns": list(self.string_columns),
                "dropped_columns": list(self.dropped), "notes": list(self.notes)}


def _name(ch: str) -> str:
    return _NAMES.get(ch, repr(ch))


# --------------------------------------------------------------------------- bytes -> text
def _raw_bytes(path: Path, key: str) -> bytes:
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise config_error(key, "a readable CSV file (plain or .gz)", f"{path}: {exc}") from None
    if not data.strip():
        raise config_error(key, "a non-empty CSV file", str(path))
    return data


def decode(data: bytes, path: Path, encoding: str, prefix: str) -> Tuple[str, str]:
    """(text, encoding used). `auto`: a BOM decides, else UTF-8, else cp1252, else latin-1 (never fails)."""
    if encoding != AUTO:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise config_error(f"{prefix}.encoding", "auto or a Python codec name (utf-8, cp1252, latin-1, ...)",
                               encoding) from None
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise config_error(f"{prefix}.encoding", f"an encoding that decodes {path.name}",
                               f"{encoding}: byte {data[exc.start]:#04x} on line {line} is invalid "
                               "(try dataset.encoding=auto, cp1252 or latin-1)") from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for enc in ("utf-8", "cp1252", "latin-1"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


# --------------------------------------------------------------------------- separator and fields
def _field_counts(text: str, sep: str, limit: Optional[int] = None) -> List[Tuple[int, int]]:
    """(line number, number of fields) per non-empty record, quotes respected."""
    if '"' not in text:  # no quoting: counting separators per line is exact and ~20x faster than csv
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                out.append((number, line.count(sep) + 1))
                if limit and len(out) >= limit:
                    break
        return out
    reader = csv.reader(io.StringIO(text), delimiter=sep, quotechar='"')
    out = []
    try:
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()):  # blank lines are skipped, like pandas
                out.append((reader.line_num, len(row)))
                if limit and len(out) >= limit:
                    break
    except csv.Error as exc:
        out.append((reader.line_num, -1))
        log.debug("csv: %s", exc)
    return out


def _head(text: str, lines: int) -> str:
    end = -1
    for _ in range(lines):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[:end]


def detect_separator(text: str, path: Path, prefix: str) -> str:
    """The candidate separator that splits the header into most fields and the sample rows consistently."""
    best, best_score = None, (0, 0.0)
    text = _head(text, _SAMPLE_LINES)
    for sep in SEPARATORS:
        counts = _field_counts(text, sep, _SAMPLE_LINES)
        if not counts or counts[0][1] < 2:
            continue
        header = counts[0][1]
        agree = sum(n == header for _, n in counts[1:]) / max(len(counts) - 1, 1)
        score = (1 if agree == 1.0 else 0, agree * header)
        if score > best_score:
            best, best_score = sep, score
    if best is None:
        return ","  # one column: any separator reads it the same
    return best


def check_fields(counts: List[Tuple[int, int]], sep: str, path: Path, prefix: str) -> None:
    """Every record must have as many fields as the header: a longer row means an unquoted separator inside a
    value (e.g. a thousands separator) or another separator, and pandas would shift or drop values silently."""
    header = counts[0][1]
    for line, n in counts[1:]:
        if n == -1:
            raise config_error(f"{prefix}.sep", f"a CSV file that parses with separator {_name(sep)}",
                               f"{path.name}, line {line}: unbalanced quotes")
        if n != header:
            more = "more" if n > header else "fewer"
            hint = (" (an unquoted thousands separator or decimal comma inside a number? quote such values, or"
                    " set dataset.sep to the real separator)" if n > header else
                    " (a truncated row? set dataset.sep if the file uses another separator)")
            raise config_error(f"{prefix}.sep", f"{header} fields per row like the header of {path.name} "
                               f"(separator {_name(sep)})", f"{n} fields ({more}) on line {line}{hint}")


# --------------------------------------------------------------------------- numbers
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
                fix = f"dataset.thousands={_name(found[0])}" + (
                    f" dataset.decimal={_name(found[1])}" if found[1] != decimal else "")
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


# --------------------------------------------------------------------------- the reader
def _drop_index_column(frame: pd.DataFrame, notes: List[str]) -> Tuple[pd.DataFrame, List[str]]:
    """A first column written by pandas' `to_csv()` (empty header, values 0..n-1) is not data."""
    first = frame.columns[0]
    if not (str(first) == "" or str(first).startswith("Unnamed: 0")):
        return frame, []
    values = pd.to_numeric(frame[first], errors="coerce")
    if values.notna().all() and np.array_equal(values.to_numpy(), np.arange(len(frame))):
        notes.append("dropped the pandas index column (empty header, values 0..n-1)")
        return frame.drop(columns=[first]), [str(first)]
    return frame, []


def _read(text: str, sep: str, key: str, path: Path, prefix: str, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, skip_blank_lines=True, quotechar='"', engine="c", **kwargs)
    except pd.errors.EmptyDataError:
        raise config_error(key, "a non-empty CSV file", str(path)) from None
    except pd.errors.ParserError as exc:
        raise config_error(f"{prefix}.sep", f"a CSV file that parses with separator {_name(sep)}",
                           f"{path.name}: {str(exc).strip()}") from None


def _header(text: str, sep: str, key: str, path: Path) -> List[str]:
    """The column names as written (pandas would rename a duplicate "a" to "a.1" silently: refused here)."""
    header = next((row for row in csv.reader(io.StringIO(_head(text, 50)), delimiter=sep) if row), [])
    names = [c.strip() for c in header]
    if names and not names[0]:
        names[0] = "Unnamed: 0"  # pandas' name for the index column that to_csv() writes
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise config_error(key, f"unique column names in {path.name}", f"duplicated {dupes}")
    return names


def _plain_numbers(typed: pd.DataFrame, names: List[str]) -> Dict[str, pd.Series]:
    """The columns pandas' default parser read as numbers (booleans and all-empty columns excluded), float64."""
    typed.columns = names
    return {c: typed[c].astype(np.float64) for c in names if pd.api.types.is_numeric_dtype(typed[c])
            and not pd.api.types.is_bool_dtype(typed[c]) and typed[c].notna().any()}


def read_table(path: Path, key: str = "dataset.path", sep: str = AUTO, decimal: str = AUTO,
               thousands: Optional[str] = None, encoding: str = AUTO, prefix: str = "dataset",
               as_text: bool = False, time_columns: Sequence[str] = ()) -> Table:
    """Read a CSV (plain or .gz) whatever its dialect, or refuse it with the line and the option that fixes it.

    `sep`, `decimal`, `encoding`: `auto` detects them; `thousands`: None means none (a column that reads only
    without one is refused, naming `dataset.thousands`). `as_text`: every column stays text (labelled text files).
    `time_columns`: text columns that are timestamps (not reported as text columns). The dialect is logged.
    """
    path = Path(path)
    if not path.is_file():
        raise config_error(key, "an existing CSV file", str(path))
    if decimal not in (AUTO, ".", ","):
        raise config_error(f"{prefix}.decimal", "auto, '.' or ','", decimal, [AUTO, ".", ","])
    if thousands is not None and thousands == decimal:
        raise config_error(f"{prefix}.thousands", f"a character other than the decimal mark {decimal!r}", thousands)
    text, used_encoding = decode(_raw_bytes(path, key), path, encoding, prefix)
    notes: List[str] = []
    if used_encoding not in ("utf-8", "ascii"):
        notes.append(f"decoded as {used_encoding}")
    if sep == AUTO:
        sep = detect_separator(text, path, prefix)
        if sep != ",":
            notes.append(f"separator {_name(sep)} detected")
    counts = _field_counts(text, sep)
    check_fields(counts, sep, path, prefix)

    def lines() -> np.ndarray:  # the file's line number of each data row, for error messages
        found = np.array([line for line, _ in counts[1:]], dtype=np.int64)
        return found if len(found) == len(frame) else np.arange(2, len(frame) + 2)

    names = _header(text, sep, key, path)
    fast: Dict[str, pd.Series] = {}
    if as_text:
        frame = _read(text, sep, key, path, prefix, dtype=str, keep_default_na=False)
        if len(frame) == 0:
            raise config_error(key, "a CSV file with at least one data row", f"{path} (header only)")
        frame.columns = names
        dialect = {"sep": sep, "decimal": None, "thousands": None, "encoding": used_encoding}
        _log_dialect(path, dialect)
        return Table(frame=frame, path=path, dialect=dialect, string_columns=list(names), notes=notes)
    # the fast path: pandas' own C parser reads the plain numeric columns; only the others are read as text
    if decimal in (AUTO, ".") and thousands is None:
        fast = _plain_numbers(_read(text, sep, key, path, prefix), names)
    others = [i for i, c in enumerate(names) if c not in fast]
    frame = _read(text, sep, key, path, prefix, dtype=str, keep_default_na=False, usecols=others) if others else \
        pd.DataFrame(index=next(iter(fast.values())).index)
    frame.columns = [names[i] for i in others]
    dotted = [c for c, v in fast.items() if not np.all(np.mod(v.dropna().to_numpy(), 1) == 0)]
    rest, decimal, strings = convert_columns(frame, path, sep, decimal, thousands, prefix, lines, notes, dotted)
    frame = pd.concat([pd.DataFrame(fast, index=rest.index), rest], axis=1)[names]
    if len(frame) == 0:
        raise config_error(key, "a CSV file with at least one data row", f"{path} (header only)")
    frame, dropped = _drop_index_column(frame, notes)
    dialect = {"sep": sep, "decimal": decimal, "thousands": thousands, "encoding": used_encoding}
    text_columns = [c for c in strings if c not in time_columns]
    if text_columns:
        notes.append(f"text columns (not used as numbers): {', '.join(text_columns)}")
    _log_dialect(path, dialect)
    for note in notes:
        log.info("%s: %s", path.name, note)
    return Table(frame=frame, path=path, dialect=dialect, string_columns=strings, dropped=dropped, notes=notes)


def _log_dialect(path: Path, dialect: Dict[str, Any]) -> None:
    """The dialect read, logged for every file (detected or given), as metrics.json's data.dialect records it."""
    parts = [f"separator {_name(dialect['sep'])}"]
    if dialect.get("decimal"):
        parts.append(f"decimal mark {_name(dialect['decimal'])}")
    parts.append(f"thousands separator {_name(dialect['thousands'])}" if dialect.get("thousands")
                 else "no thousands separator")
    log.info("%s: dialect: %s, encoding %s", path.name, ", ".join(parts), dialect["encoding"])


# --------------------------------------------------------------------------- time
_PARTS = ("year", "month", "day", "hour", "minute", "second")
TIME_UNITS = ("s", "ms", "us", "ns", "m", "h", "D")
YEARS = (1678, 2261)  # the years pandas' nanosecond timestamps hold


def parse_time(frame: pd.DataFrame, columns: Sequence[str], path: Path, unit: Optional[str] = None,
               sort: bool = False, prefix: str = "dataset",
               time_format: Optional[str] = None) -> Tuple[pd.DataFrame, pd.Series, Dict[str, Any]]:
    """Timestamps from one column (text, in `time_format` when given; numbers with `unit`, or whole-number years
    and YYYYMMDD numbers) or from year/month/day[/hour/...] columns.

    Returns (frame without the time columns, sorted when `sort`; timestamps; report). Rows out of time order are
    refused unless `sort`; duplicate timestamps and gaps (steps longer than the most common one) are counted.
    """
    columns = list(columns)
    times = _timestamps(frame, columns, path, unit, prefix, time_format)
    report: Dict[str, Any] = {"time_column": columns if len(columns) > 1 else columns[0]}
    back = np.flatnonzero((times.diff().iloc[1:] < pd.Timedelta(0)).to_numpy())
    if len(back):
        if not sort:
            i = int(back[0]) + 1
            raise config_error(f"{prefix}.sort", f"rows in time order in {path.name}, or true to sort them",
                               f"{times.iloc[i]} after {times.iloc[i - 1]} (data row {i + 1}); "
                               f"{len(back)} steps go back in time")
        order = np.argsort(times.to_numpy(), kind="stable")
        frame, times = frame.iloc[order].reset_index(drop=True), times.iloc[order].reset_index(drop=True)
        report["sorted"] = True
    report.update(_steps(times, path))
    return frame.drop(columns=columns), times, report


def _to_datetime(values: pd.Series, **kwargs) -> pd.Series:
    """Timestamps; UTC offsets that change within the column (daylight saving time) are read as UTC."""
    try:
        return pd.to_datetime(values, errors="coerce", **kwargs)
    except ValueError as exc:  # pandas: "Mixed timezones detected. Pass utc=True ..."
        if "utc=True" not in str(exc):
            raise
        return pd.to_datetime(values, errors="coerce", utc=True, **kwargs)


def _as_text(column: pd.Series) -> pd.Series:
    """A column as text for a strptime format: whole numbers without a trailing `.0` (19580329.0 -> 19580329)."""
    values = column.dropna()
    if pd.api.types.is_float_dtype(column) and len(values) and (values == values.round()).all():
        column = column.astype("Int64")
    return column.astype("string")


def _numeric_times(column: pd.Series, path: Path, prefix: str) -> pd.Series:
    """A numeric time column without dataset.time_unit: whole-number years (1700, 1701, ...) or dates written as
    YYYYMMDD numbers (19580329) are read as dates; anything else is refused naming the options that work."""
    values = column.dropna()
    whole = len(values) > 0 and bool((values == values.round()).all())
    if whole and values.between(YEARS[0], YEARS[1]).all():
        log.info("%s: time column %r read as whole-number years (%d..%d)", path.name, column.name,
                 int(values.min()), int(values.max()))
        return pd.to_datetime(_as_text(column), format="%Y", errors="coerce")
    if whole and values.between(YEARS[0] * 10000 + 101, YEARS[1] * 10000 + 1231).all():
        times = pd.to_datetime(_as_text(column), format="%Y%m%d", errors="coerce")
        if times.notna().all():
            log.info("%s: time column %r read as dates written YYYYMMDD", path.name, column.name)
            return times
    raise config_error(f"{prefix}.time_unit", f"the unit of the numeric time column {column.name!r} (e.g. s for "
                       f"Unix seconds), or {prefix}.time_format=FORMAT for dates written as numbers (e.g. %Y%m%d%H); "
                       f"whole-number years and YYYYMMDD numbers are read as dates by themselves",
                       f"numbers such as {values.iloc[0] if len(values) else None}", list(TIME_UNITS))


def _timestamps(frame: pd.DataFrame, columns: List[str], path: Path, unit: Optional[str], prefix: str,
                time_format: Optional[str] = None) -> pd.Series:
    """The parsed time column(s), or a ConfigError naming the key and the first value that does not parse."""
    key = f"{prefix}.time_column"
    for c in columns:
        if c not in frame.columns:
            raise config_error(key, f"a column of {path.name}", c, list(frame.columns))
    if len(columns) > 1:
        parts = {c: str(c).strip().lower() for c in columns}
        if any(p not in _PARTS for p in parts.values()) or not {"year", "month", "day"} <= set(parts.values()):
            raise config_error(key, "one column, or columns named year, month, day (and hour, minute, second)",
                               columns)
        times = pd.to_datetime(frame[columns].rename(columns=parts), errors="coerce")
    elif time_format is not None:
        key = f"{prefix}.time_format"
        try:
            if "%" not in time_format:
                raise ValueError("no % directive")
            times = _to_datetime(_as_text(frame[columns[0]]), format=time_format)
        except ValueError as e:
            raise config_error(key, "a strptime format such as %Y%m%d or %d/%m/%Y %H:%M",
                               f"{time_format!r} ({e})") from None
    elif pd.api.types.is_numeric_dtype(frame[columns[0]]):
        times = _numeric_times(frame[columns[0]], path, prefix) if unit is None else \
            pd.to_datetime(frame[columns[0]], unit=unit, errors="coerce")
    else:
        times = _to_datetime(frame[columns[0]])  # one format, inferred from the first value
        if times.isna().any():
            times = _to_datetime(frame[columns[0]], format="mixed")
    if times.isna().any():
        i = int(np.flatnonzero(times.isna().to_numpy())[0])
        hint = f" (or {prefix}.time_format=FORMAT, e.g. %d.%m.%Y)" if key.endswith("time_column") and \
            len(columns) == 1 else ""
        raise config_error(key, f"timestamps in every row of {path.name}{hint}",
                           f"{int(times.isna().sum())} unparseable, first {frame[columns].iloc[i].tolist()} "
                           f"(data row {i + 1})")
    return times


def _steps(times: pd.Series, path: Path) -> Dict[str, Any]:
    """Range, duplicate timestamps, the usual step and the gaps (longer steps) of sorted timestamps."""
    steps = times.diff().iloc[1:]
    dup = int((steps == pd.Timedelta(0)).sum())
    out: Dict[str, Any] = {"time_range": [str(times.iloc[0]), str(times.iloc[-1])], "duplicate_timestamps": dup}
    if dup:
        log.warning("%s: %d duplicate timestamps", path.name, dup)
    positive = steps[steps > pd.Timedelta(0)]
    if len(positive):
        step = positive.mode().iloc[0]
        long = positive[positive > step]
        out.update(time_step=str(step), gaps=int(len(long)), missing_steps=int(sum(int(g / step) - 1 for g in long)),
                   largest_gap=str(long.max()) if len(long) else None)
        if len(long):
            log.warning("%s: %d gaps in time (%d missing steps of %s; largest %s)", path.name, len(long),
                        out["missing_steps"], step, out["largest_gap"])
    return out
