"""Reading a panel (many series) in one of three layouts of the same data: long (id, time, values per row), one
series per column (a wide file with a time column), one series per row (the M4 files: id first, then the values,
left-aligned). Every layout gives the same RawPanel: the series one after another in one array."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..config import config_error
from .known import gap_rows
from .numbers import AUTO
from .tabular import read_table
from .timecolumns import _timestamps

LAYOUTS = ("long", "columns", "rows")


@dataclass
class RawPanel:
    """Series k is rows [offsets[k], offsets[k+1]) of `values` (its time order), named ids[k]."""

    ids: List[str]
    offsets: np.ndarray  # (n_series + 1,) int64
    values: np.ndarray  # (rows, columns) float64: the targets first, then the past covariates
    columns: List[str]
    n_targets: int
    times: Optional[np.ndarray] = None  # (rows,) datetime64[ns], with a time column
    test_rows: Optional[np.ndarray] = None  # (n_series,) rows from dataset.test_path at each series' end
    info: Optional[Dict[str, Any]] = None
    static: Tuple[str, ...] = ()  # the last columns: constant within each series (dataset.static_columns)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def select(self, keep: np.ndarray) -> "RawPanel":
        """The series where `keep` (n_series,) is true, copied one after another."""
        if keep.all():
            return self
        lengths = self.lengths[keep]
        rows = np.concatenate([np.arange(a, b) for a, b, k in zip(self.offsets[:-1], self.offsets[1:], keep) if k]
                              or [np.zeros(0, np.int64)])
        return RawPanel([i for i, k in zip(self.ids, keep) if k], np.concatenate([[0], np.cumsum(lengths)]),
                        self.values[rows], self.columns, self.n_targets,
                        None if self.times is None else self.times[rows],
                        None if self.test_rows is None else self.test_rows[keep], self.info, self.static)


def _read(path: Path, key: str, ds, time_columns=()):
    return read_table(path, key, sep=ds.get("sep", AUTO), decimal=ds.get("decimal", AUTO),
                      thousands=ds.get("thousands"), encoding=ds.get("encoding", AUTO),
                      time_columns=list(time_columns))


def _numeric(frame: pd.DataFrame, names: List[str], key: str, source: str) -> None:
    for c in names:
        if c not in frame.columns or not pd.api.types.is_numeric_dtype(frame[c]):
            raise config_error(key, f"numeric columns of {source}", c,
                               [n for n in frame.columns if pd.api.types.is_numeric_dtype(frame[n])])


def read_long(frame: pd.DataFrame, ds, source: str, prefix: str = "dataset",
              columns: Optional[List[str]] = None) -> RawPanel:
    """One row per (series, time): `id_column`, `time_column` (optional: else the file's row order), targets and
    the past covariates (`covariates`, default every other numeric column). `columns`: exactly these (predict)."""
    idc, timec = ds.id_column, ds.get("time_column")
    if idc not in frame.columns:
        raise config_error(f"{prefix}.id_column", f"a column of {source} naming each row's series", idc,
                           list(frame.columns))
    targets = list(ds.targets)
    _numeric(frame, targets, f"{prefix}.targets", source)
    if columns is None:
        skip = {idc, timec, *targets, *(ds.get("static_columns") or [])}
        cov = ds.get("covariates")
        cov = [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])] \
            if cov is None else list(cov)
        cov += [c for c in ds.get("future_columns") or [] if c not in cov and c not in targets]  # known ahead
        _numeric(frame, cov, f"{prefix}.covariates", source)
        static = list(ds.get("static_columns") or [])
        _numeric(frame, static, f"{prefix}.static_columns", source)
        columns = targets + cov + static
    else:
        _numeric(frame, columns, prefix, source)
    codes, ids = pd.factorize(frame[idc].astype(str), sort=True)  # series in order of their ids
    times = None
    if timec is not None:
        times = _timestamps(frame, [timec], Path(source), ds.get("time_unit"), prefix,
                            ds.get("time_format")).to_numpy()
        order = np.lexsort((times, codes))
    else:
        order = np.argsort(codes, kind="stable")
    codes = codes[order]
    values = frame[columns].to_numpy(np.float64)[order]
    if times is not None:
        times = times[order]
        same = np.flatnonzero((np.diff(codes) == 0) & (np.diff(times) == np.timedelta64(0)))
        if len(same):
            raise config_error(f"{prefix}.time_column", f"one row per series and timestamp in {source}",
                               f"{len(same)} repeated, first series {ids[codes[same[0]]]!r} at {times[same[0]]}")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(ids)))]).astype(np.int64)
    static = tuple(ds.get("static_columns") or [])
    panel = _finite(RawPanel(list(ids), offsets, values, columns, len(targets), times, static=static), prefix,
                    source)
    if static and len(values):  # constant within each series: fed as constant input channels
        part = values[:, len(columns) - len(static):]
        spread = np.maximum.reduceat(part, offsets[:-1]) - np.minimum.reduceat(part, offsets[:-1])
        bad = np.argwhere(spread > 0)
        if len(bad):
            k, j = bad[0]
            raise config_error(f"{prefix}.static_columns", "columns with one value per series",
                               f"{static[j]!r}: series {ids[k]!r} has several values in it")
    return panel


def read_columns(frame: pd.DataFrame, times: Optional[pd.Series], ds, source: str, prefix: str = "dataset",
                 names: Optional[List[str]] = None, shared: Sequence[str] = ()) -> RawPanel:
    """A wide file: each numeric column is one series of the target; empty cells before its start and after its
    end are not part of it (series of different lengths and starts). `shared` (dataset.future_columns): columns
    known ahead common to every series, not series themselves: each series gets their values in its own rows as
    columns beside its values, exactly as a long file repeating them per series would give."""
    shared = list(shared)
    key = f"{prefix}.future_columns" if prefix == "dataset" else prefix
    _numeric(frame, shared, key, source)
    if ds.targets[0] in shared:
        raise config_error(key, f"columns other than the values' name dataset.targets[0] = {ds.targets[0]!r}",
                           shared)
    if names is None:
        names = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and c not in shared]
    if not names:
        raise config_error(f"{prefix}.path", f"numeric columns (one series each) in {source}", list(frame.columns))
    _numeric(frame, names, f"{prefix}.path", source)
    parts, rows = [], []
    for c in names:
        v = frame[c].to_numpy(np.float64)
        present = np.flatnonzero(~np.isnan(v))
        a, b = (present[0], present[-1] + 1) if len(present) else (0, 0)
        parts.append(v[a:b])
        rows.append(np.arange(a, b))
    rows_all = np.concatenate(rows)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    values = np.concatenate(parts)[:, None]
    if shared:  # the same rows of the shared columns beside each series' values
        known = frame[shared].to_numpy(np.float64)
        used = np.zeros(len(frame), bool)
        used[rows_all] = True
        gaps = gap_rows(np.where(used[:, None], known, 0.0), shared, None if times is None else pd.Index(times))
        if gaps:
            raise config_error(key, "columns known ahead with a value in every row where a series has values "
                               "(each is an input for the forecast horizon, so gaps are not interpolated)",
                               f"gaps in {source} (rows from 0, or times): {gaps}")
        values = np.concatenate([values, known[rows_all]], axis=1)
    panel = RawPanel([str(c) for c in names], offsets, values, [ds.targets[0], *shared], 1,
                     None if times is None else times.to_numpy()[rows_all])
    return _finite(panel, prefix, source)


def read_rows(frame: pd.DataFrame, source: str, prefix: str = "dataset", name: str = "y") -> RawPanel:
    """One series per row: the first column its id, then its values left-aligned (empty cells after its end)."""
    values = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    present = ~np.isnan(values)
    lengths = np.where(present.any(axis=1), values.shape[1] - np.argmax(present[:, ::-1], axis=1), 0)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.concatenate([values[i, :n] for i, n in enumerate(lengths)] or [np.zeros(0)])[:, None]
    return _finite(RawPanel(frame.iloc[:, 0].astype(str).tolist(), offsets, flat, [name], 1), prefix, source)


def _finite(panel: RawPanel, prefix: str, source: str) -> RawPanel:
    """Refuse NaN or inf inside a series (empty cells are allowed only before its start or after its end)."""
    bad = ~np.isfinite(panel.values).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        k = int(np.searchsorted(panel.offsets, row, side="right") - 1)
        raise config_error(f"{prefix}.path", f"finite values inside every series of {source}",
                           f"{int(bad.sum())} empty/NaN/inf values, first in series {panel.ids[k]!r} at its step "
                           f"{row - panel.offsets[k]}")
    return panel


def append_test(panel: RawPanel, test: RawPanel, source: str, prefix: str = "dataset") -> RawPanel:
    """The rows layout's test file: each series' next values appended at its end, matched by id."""
    if sorted(test.ids) != sorted(panel.ids) or len(set(test.ids)) != len(test.ids):
        missing = sorted(set(panel.ids) - set(test.ids))[:3]
        raise config_error(f"{prefix}.test_path", f"the same series ids as {prefix}.path, once each",
                           f"{source}: {len(test.ids)} rows, missing e.g. {missing}")
    where = {s: k for k, s in enumerate(test.ids)}
    parts, lengths, test_rows = [], [], []
    for k, s in enumerate(panel.ids):
        j = where[s]
        parts += [panel.values[panel.offsets[k]:panel.offsets[k + 1]], test.values[test.offsets[j]:test.offsets[j + 1]]]
        lengths.append(panel.lengths[k] + test.lengths[j])
        test_rows.append(test.lengths[j])
    return RawPanel(panel.ids, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), np.concatenate(parts),
                    panel.columns, 1, None, np.array(test_rows, np.int64))


_CACHE: Dict[tuple, Tuple[RawPanel, str]] = {}
CACHE_ROWS = 2**20  # a panel read with more rows is not kept after its run has its own float32 rows (forget_large)
_KEYS = ("layout", "test_path", "id_column", "time_column", "time_unit", "time_format", "targets", "covariates",
         "static_columns", "future_columns", "sep", "decimal", "thousands", "encoding")


def read_panel(ds, data_dir=None) -> Tuple[RawPanel, str]:
    """The panel of `ds` (the dataset sub-config) in its layout; (panel, source name). The last one read is
    cached (the checks before TensorFlow and the loader read a file once; a sweep's trials share it)."""
    from omegaconf import OmegaConf

    from . import download

    path = download.local_path(ds.get("path"), "dataset.path", data_dir)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(data_dir),
           repr([OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for v in map(ds.get, _KEYS)]))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _read_panel(ds, path, data_dir)
    return _CACHE[key]


def _read_panel(ds, path: Path, data_dir) -> Tuple[RawPanel, str]:
    from . import download

    timec = ds.get("time_column")
    table = _read(path, "dataset.path", ds, [timec] if timec and ds.layout != "rows" else [])
    frame = table.frame
    if ds.get("static_columns") and ds.layout != "long":
        raise config_error("dataset.static_columns", "dataset.layout=long (a column per series constant, beside the "
                           "id)", ds.layout)
    if ds.layout == "long":
        panel = read_long(frame, ds, path.name)
    elif ds.layout == "columns":
        times = None
        if timec is not None:
            times = _timestamps(frame, [timec], path, ds.get("time_unit"), "dataset", ds.get("time_format"))
            frame = frame.drop(columns=[timec])
        panel = read_columns(frame, times, ds, path.name, shared=ds.get("future_columns") or ())
    else:
        panel = read_rows(frame, path.name, name=ds.targets[0])
    if ds.get("test_path"):
        if ds.layout != "rows":
            raise config_error("dataset.test_path", "dataset.layout=rows (long and columns files hold their test "
                               "rows; split them with dataset.test_steps or dataset.cutoff)", ds.layout)
        test_path = download.local_path(ds.test_path, "dataset.test_path", data_dir)
        panel = append_test(panel, read_rows(_read(test_path, "dataset.test_path", ds).frame, test_path.name,
                                             name=ds.targets[0]), test_path.name)
    panel.info = {"source": str(path), "layout": ds.layout, **table.describe()}
    if panel.times is not None:
        panel.info["time"] = _time_report(panel)
    return panel, path.name


def _time_report(panel: RawPanel) -> Dict[str, Any]:
    """The overall range, the usual step between consecutive rows of one series and the gaps (longer steps)."""
    t = pd.Series(panel.times)
    within = np.ones(len(t), bool)
    within[panel.offsets[:-1][panel.lengths > 0]] = False  # a series' first row has no step before it
    steps = t.diff()[within]
    positive = steps[steps > pd.Timedelta(0)]
    report: Dict[str, Any] = {"time_range": [str(t.min()), str(t.max())]}
    if len(positive):
        step = positive.mode().iloc[0]
        report.update(time_step=str(step), gaps=int((positive > step).sum()))
    return report


def forget_large() -> None:
    """Drop the last panel read when it is large: its values as read (float64) and timestamps would stay beside
    the float32 rows a run trains on, several times their size. A sweep's trials then read such a file again."""
    for raw, _ in list(_CACHE.values()):
        if len(raw.values) > CACHE_ROWS:
            _CACHE.clear()
