"""Time columns of users' CSV files: one column of timestamps, or year/month/day[/hour...] columns; order, duplicates
and gaps checked."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..config import config_error

log = logging.getLogger("seqlab.data.tabular")  # the reader's logger: one name for everything a file read says


_PARTS = ("year", "month", "day", "hour", "minute", "second")
TIME_UNITS = ("s", "ms", "us", "ns", "m", "h", "D")
YEARS = (1678, 2261)  # the years pandas' nanosecond timestamps hold


def parse_time(frame: pd.DataFrame, columns: Sequence[str], path: Path, unit: Optional[str] = None,
               sort: bool = False, prefix: str = "dataset",
               time_format: Optional[str] = None) -> Tuple[pd.DataFrame, pd.Series, Dict[str, Any]]:
    """Timestamps from one column (text, in `time_format` when given; numbers with `unit`, or whole-number years
    and YYYYMMDD numbers) or from year/month/day[/hour/...] columns.

    Returns (frame without the time columns, sorted when `sort`, indexed by the rows' local wall-clock time (see
    `wall_clock`); timestamps; report). Rows out of time order are refused unless `sort`; duplicate timestamps and
    gaps (steps longer than the most common one) are counted.
    """
    columns = list(columns)
    times = _timestamps(frame, columns, path, unit, prefix, time_format)
    frame = frame.set_index(pd.DatetimeIndex(wall_clock(times, frame[columns[0]]), name=None))
    report: Dict[str, Any] = {"time_column": columns if len(columns) > 1 else columns[0]}
    back = np.flatnonzero((times.diff().iloc[1:] < pd.Timedelta(0)).to_numpy())
    if len(back):
        if not sort:
            i = int(back[0]) + 1
            raise config_error(f"{prefix}.sort", f"rows in time order in {path.name}, or true to sort them",
                               f"{times.iloc[i]} after {times.iloc[i - 1]} (data row {i + 1}); "
                               f"{len(back)} steps go back in time")
        order = np.argsort(times.to_numpy(), kind="stable")
        frame, times = frame.iloc[order], times.iloc[order].reset_index(drop=True)
        report["sorted"] = True
    report.update(_steps(times, path))
    return frame.drop(columns=columns), times, report


_OFFSET = r"\s*(?:Z|UTC|[+-]\d\d:?\d\d)$"  # a timestamp's UTC offset at its end: +01:00, -0500, Z


def wall_clock(times: pd.Series, raw: pd.Series) -> pd.Series:
    """The rows' local wall-clock time (naive), which calendar features read: an hour of 9 is 9 o'clock where the
    data was recorded, on either side of a daylight-saving change. Timestamps in one time zone are read in it; text
    with UTC offsets that change within the column (read as UTC) is read without its offsets; naive ones as they
    are."""
    if times.dt.tz is None:
        return times
    if str(times.dt.tz) == "UTC" and not pd.api.types.is_numeric_dtype(raw):
        local = pd.to_datetime(raw.astype("string").str.replace(_OFFSET, "", regex=True), errors="coerce",
                               format="mixed")
        if local.notna().all():
            return local.reset_index(drop=True)
    return times.dt.tz_localize(None)


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
