"""Reading users' CSV files right or refusing them clearly: dialect (separator, decimal mark, thousands separator,
encoding), a pandas index column, numeric and string columns (numbers: data/numbers.py; time columns:
data/timecolumns.py).

Nothing here guesses silently. A dialect that is detected is reported; a parse that is ambiguous (rows with more
or fewer fields than the header, numbers that read only after removing a thousands separator, decimal commas
next to decimal points) raises a ConfigError that names the file, the first offending line and the option to set.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..config import config_error
from .numbers import AUTO, char_name, convert_columns

log = logging.getLogger(__name__)

SEPARATORS = (",", ";", "\t", "|")
_SAMPLE_LINES = 200


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
            raise config_error(f"{prefix}.sep", f"a CSV file that parses with separator {char_name(sep)}",
                               f"{path.name}, line {line}: unbalanced quotes")
        if n != header:
            more = "more" if n > header else "fewer"
            hint = (" (an unquoted thousands separator or decimal comma inside a number? quote such values, or"
                    " set dataset.sep to the real separator)" if n > header else
                    " (a truncated row? set dataset.sep if the file uses another separator)")
            raise config_error(f"{prefix}.sep", f"{header} fields per row like the header of {path.name} "
                               f"(separator {char_name(sep)})", f"{n} fields ({more}) on line {line}{hint}")


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
        raise config_error(f"{prefix}.sep", f"a CSV file that parses with separator {char_name(sep)}",
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
            notes.append(f"separator {char_name(sep)} detected")
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
    parts = [f"separator {char_name(dialect['sep'])}"]
    if dialect.get("decimal"):
        parts.append(f"decimal mark {char_name(dialect['decimal'])}")
    parts.append(f"thousands separator {char_name(dialect['thousands'])}" if dialect.get("thousands")
                 else "no thousands separator")
    log.info("%s: dialect: %s, encoding %s", path.name, ", ".join(parts), dialect["encoding"])
