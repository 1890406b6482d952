"""Labelled-series files: the UCR archive's text format (label first, tab-, comma- or space-separated, optional
header, plain or .gz) and the UEA/sktime `.ts` format (multivariate, unequal lengths, missing values). No TF."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from ..config import config_error

Series = np.ndarray  # (time, channels) float64; NaN where a value is missing


def read_text(path: Path, key: str) -> str:
    """The file's text (plain or gzip), or a ConfigError naming `key`."""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            data = f.read()
    except FileNotFoundError:
        raise config_error(key, "an existing file", str(path)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise config_error(key, "a readable file (plain or .gz)", f"{path}: {exc}") from None
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def parse_label(text: str):
    """UCR/UEA labels are numbers ("1", "-1", "1.0000000e+00") or words; whole numbers become ints."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


# --------------------------------------------------------------------------- UCR
_SPLIT = {"tab": re.compile(r"\t"), "comma": re.compile(r"\s*,\s*"), "space": re.compile(r"\s+")}


def _delimiter(line: str) -> str:
    if "\t" in line:
        return "tab"
    return "comma" if "," in line else "space"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return text.strip().lower() in ("nan", "?", "")


def read_ucr(path: Path, key: str) -> Tuple[List[Series], list]:
    """Rows of a UCR file: label, then the values. Tab-, comma- or space-separated (one per file), an optional
    header line (a first line whose value fields are not numbers), trailing NaNs (or empty fields) pad a shorter
    series to the file's width. Returns (series (T, 1) each, raw labels)."""
    lines = read_text(path, key).splitlines()
    rows: List[Series] = []
    labels = []
    kind: Optional[str] = None
    first = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        kind = kind or _delimiter(line)
        fields = _SPLIT[kind].split(line.strip())
        if first:
            first = False
            if len(fields) > 1 and not all(_is_number(f) for f in fields[1:]):
                continue  # a header line ("target,t0,t1,...")
        values = []
        for f in fields[1:]:
            f = f.strip()
            if f.lower() in ("nan", "?", ""):
                values.append(np.nan)
                continue
            try:
                values.append(float(f))
            except ValueError:
                raise config_error(key, f"numeric values after the label, {kind}-separated",
                                   f"{f!r} on line {number} of {path}") from None
        values = np.asarray(values, dtype=np.float64)
        present = np.flatnonzero(~np.isnan(values))
        if len(present) == 0:
            raise config_error(key, "at least one value after the label", f"line {number} of {path}")
        values = values[: present[-1] + 1]  # trailing NaNs only pad a shorter series to the file's width
        if np.isnan(values).any():
            raise config_error(key, "NaNs only at the end of a row (the UCR 2018 variable-length convention)",
                               f"{int(np.isnan(values).sum())} NaNs inside line {number} of {path}")
        rows.append(values[:, None])
        labels.append(parse_label(fields[0]))
    if not rows:
        raise config_error(key, "a file with at least one labelled series", str(path))
    return rows, labels


# --------------------------------------------------------------------------- UEA / sktime .ts
def read_ts(path: Path, key: str) -> Tuple[List[Series], list, dict]:
    """A `.ts` file (sktime's format for the UEA/UCR archives): `@` header lines, then after `@data` one case per
    line, channels separated by ':', values by ',', the class label last. `?` is a missing value. Timestamped
    series (`(t, v)` pairs) are refused. Returns (series (T_i, channels) each, raw labels, header)."""
    header: dict = {}
    rows: List[Series] = []
    labels = []
    in_data = False
    for number, raw in enumerate(read_text(path, key).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):  # sktime's own files also comment with '%'
            continue
        if not in_data:
            if not line.startswith("@"):
                raise config_error(key, "a .ts file: '@' header lines, then @data", f"line {number} of {path}: "
                                   f"{line[:40]!r}")
            name, _, value = line[1:].partition(" ")
            name = name.lower()
            if name == "data":
                in_data = True
                continue
            header[name] = value.strip()
            continue
        if "(" in line:
            raise config_error(key, "a .ts file without timestamps (@timestamps false)", f"line {number} of {path}")
        parts = line.split(":")
        if not rows:
            _check_class_labels(header, path, key)
        channels, label = parts[:-1], parts[-1]
        series = []
        for c in channels:
            try:
                series.append(np.array([np.nan if v.strip() == "?" else float(v) for v in c.split(",")
                                        if v.strip() != ""], dtype=np.float64))
            except ValueError:
                raise config_error(key, "comma-separated numbers (or ?) in every channel",
                                   f"line {number} of {path}: {c[:40]!r}") from None
        if not series:
            raise config_error(key, "at least one channel before the label", f"line {number} of {path}")
        if rows and len(series) != rows[0].shape[1]:
            raise config_error(key, f"{rows[0].shape[1]} channels in every case (like the first)",
                               f"{len(series)} on line {number} of {path}")
        length = max(len(s) for s in series)
        case = np.full((length, len(series)), np.nan)
        for j, s in enumerate(series):  # channels of one case may differ in length: pad with NaN at the end
            case[: len(s), j] = s
        rows.append(case)
        labels.append(parse_label(label))
    if not in_data or not rows:
        raise config_error(key, "a .ts file with an @data section holding at least one case", str(path))
    allowed = header.get("classlabel", "").split()[1:]
    if allowed:
        allowed_set = {str(parse_label(a)) for a in allowed}
        bad = sorted({str(lab) for lab in labels} - allowed_set)
        if bad:
            raise config_error(key, f"labels declared by @classLabel ({', '.join(allowed)})", bad[:5])
    return rows, labels, header


def _check_class_labels(header: dict, path: Path, key: str) -> None:
    """A classification file: `@classLabel true ...`; a regression one (`@targetLabel true`: Tecator, Covid3Month)
    would otherwise read its numeric targets as one class per distinct value."""
    if (header.get("classlabel") or "false").split()[0].lower() == "true":
        return
    if (header.get("targetlabel") or "false").split()[0].lower() == "true":
        raise config_error(key, "a classification .ts file (@classLabel true); dataset=ucr does not do regression",
                           f"{path.name} with @targetLabel true (a numeric target per series)")
    raise config_error(key, "a .ts file with @classLabel true (a label per series)", str(path))


def read_labelled(path: Path, key: str) -> Tuple[List[Series], list]:
    """UCR text or `.ts` (by suffix, `.ts` or `.ts.gz`); series (T_i, channels)."""
    name = path.name.lower()
    if name.endswith(".ts") or name.endswith(".ts.gz"):
        rows, labels, _ = read_ts(path, key)
        return rows, labels
    return read_ucr(path, key)
