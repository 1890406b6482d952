"""dataset=panel: many series in one dataset (a global model). Splits by time within each series, per-series scaling
from its training rows, windows that never cross from one series into another."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd
from omegaconf import MISSING

from ..config import config_error
from ..config.schema import DatasetConfig, one_of
from ..registry import REGISTRIES
from .base import DataSpec, Panel, Splits, WindowSplit
from .known import KnownAhead, check_names
from .numbers import AUTO
from .panel_read import LAYOUTS, RawPanel, forget_large, read_panel
from .scoring import SeriesScoring, baseline_name, dataset_season, naive_baseline
from .tensors import aligned_empty
from .transforms import SeriesStandardize, Windows
from .windows import SPLIT_NAMES, WindowRanges

log = logging.getLogger(__name__)


@dataclass
class PanelConfig(DatasetConfig):
    """Many series, one model: a long file (id, time, values), one series per column, or one per row (M4)."""

    path: str = MISSING  # the CSV file (plain or .gz); layout=rows: the training values
    layout: str = one_of("long", LAYOUTS)  # long | columns (one series per column) | rows (one per row, M4 files)
    test_path: Optional[str] = None  # layout=rows: the next values of every series (the M4 test file)
    id_column: str = "unique_id"  # layout=long: the column naming each row's series
    time_column: Optional[str] = None  # long/columns: the timestamps (default: the file's row order)
    time_unit: Optional[str] = None  # for a numeric time column: s | ms | us | ns | m | h | D
    time_format: Optional[str] = None  # strptime format of the time column (default: inferred)
    targets: List[str] = field(default_factory=lambda: ["y"])  # forecast columns (columns/rows: the values' name)
    covariates: Optional[List[str]] = None  # layout=long: past covariates (default: every other numeric column)
    # layout=long: numeric columns constant within each series (e.g. store size), fed as constant input channels
    # scaled across series
    static_columns: Optional[List[str]] = None
    # inputs known ahead for the horizon, per series (docs/panels.md): calendar sin/cos of the time column
    calendar: List[str] = field(default_factory=list)
    # columns known ahead (z-scored per series); layout=columns: columns of the wide file shared by every series
    future_columns: List[str] = field(default_factory=list)
    input_len: int = 48  # input window length (time steps)
    horizon: int = 12  # steps forecast after each window
    stride: int = 1  # steps between consecutive windows of a series
    test_steps: Optional[int] = None  # the last steps of each series that are test (default: horizon)
    val_steps: Optional[int] = None  # the steps before them that are validation (default: horizon; 0: none)
    cutoff: Optional[str] = None  # instead of test_steps: one timestamp for all series; later rows are test
    min_length: Optional[int] = None  # refuse (not skip) a series shorter than this or than one window per split
    normalize: bool = True  # z-score each series with its own training rows' mean and std
    season: Optional[int] = None  # for MASE and the seasonal naive baseline; default: 24 hourly, 7 daily, else 1
    sep: str = AUTO  # field separator: auto | , | ; | \t | |
    decimal: str = AUTO  # decimal mark: auto | . | ,
    thousands: Optional[str] = None  # thousands separator
    encoding: str = AUTO  # auto or a codec name


def load_panel(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """The panel at `dataset.path` in `dataset.layout`, split, scaled and windowed."""
    raw, source = read_panel(cfg, data_dir)
    splits, spec = build_panel(raw, cfg, source)
    del raw  # training holds the float32 rows alone; `seqlab backtest` reads the values as read again
    forget_large()
    if "panel_rows" in splits.artifacts:
        splits.artifacts["panel_rows"] = partial(read_kept, cfg, data_dir, splits.artifacts["panel_rows"].ids)
    return splits, spec


def read_kept(cfg, data_dir: Optional[str], ids: List[str]) -> RawPanel:
    """The panel's series `ids` (those build_panel kept) as read from its files, in original units."""
    raw, _ = read_panel(cfg, data_dir)
    return raw.select(np.isin(np.asarray(raw.ids, dtype=object), np.asarray(ids, dtype=object)))


def split_rows(raw: RawPanel, cfg, source: str) -> Tuple[np.ndarray, np.ndarray]:
    """(test rows, validation rows) per series: the last test_steps (or those after the cutoff, or the test file's)
    are test, the val_steps before them validation."""
    H = cfg.horizon
    n = raw.lengths
    if raw.test_rows is not None:
        n_test = raw.test_rows
    elif cfg.get("cutoff") is not None:
        if raw.times is None:
            raise config_error("dataset.cutoff", "a panel with dataset.time_column (the cutoff is a timestamp)",
                               cfg.cutoff)
        try:
            cutoff = pd.Timestamp(cfg.cutoff).to_datetime64()
        except ValueError:
            raise config_error("dataset.cutoff", "a timestamp such as 2024-01-31 or 2024-01-31T12:00",
                               cfg.cutoff) from None
        after = (raw.times > cutoff).astype(np.int64)
        n_test = np.add.reduceat(after, raw.offsets[:-1]) if len(after) else np.zeros(len(n), np.int64)
        n_test = np.where(n > 0, n_test, 0)  # reduceat reads a following row for an empty series
    else:
        n_test = np.full(len(n), H if cfg.get("test_steps") is None else cfg.test_steps, np.int64)
    n_val = np.full(len(n), H if cfg.get("val_steps") is None else cfg.val_steps, np.int64)
    return np.asarray(n_test, np.int64), n_val


def _usable(raw: RawPanel, cfg, n_test, n_val, source: str) -> np.ndarray:
    """Series long enough for one window in every split; the others skipped (counted, logged) or, with
    dataset.min_length, refused."""
    L, H = cfg.input_len, cfg.horizon
    n_train = raw.lengths - n_test - n_val
    ok = (n_train >= L + H) & (n_test >= H)
    floor = cfg.get("min_length")
    if floor is not None:
        bad = np.flatnonzero(~ok | (raw.lengths < floor))
        if len(bad):
            k = int(bad[0])
            raise config_error("dataset.min_length", f"series of at least {floor} rows, each with "
                               f"input_len + horizon = {L + H} training rows and {H} test rows (or unset "
                               "dataset.min_length to skip shorter series)",
                               f"{len(bad)} shorter series in {source}, first {raw.ids[k]!r}: {raw.lengths[k]} rows "
                               f"({n_train[k]} train, {n_val[k]} val, {n_test[k]} test)")
    if not ok.any():
        raise config_error("dataset.input_len", f"series long enough for input_len + horizon ({L} + {H}) training "
                           f"rows plus val_steps and test_steps", f"none of the {len(ok)} series of {source}")
    if not ok.all():
        log.warning("%s: %d of %d series too short for one window in every split (input_len %d, horizon %d, "
                    "val %s, test %s steps): skipped", source, int((~ok).sum()), len(ok), L, H,
                    cfg.get("val_steps") or H, "from cutoff" if cfg.get("cutoff") else int(n_test.max()))
    return ok


def window_starts(offsets, lengths, n_test, n_val, L: int, H: int, stride: int) -> Dict[str, WindowRanges]:
    """Global window starts per split, one range per series; a window's input and target rows all lie in its own
    series. Validation and test inputs may reach back into the previous split (as in the ETT protocol)."""
    ends = {"train": lengths - n_test - n_val, "val": lengths - n_test, "test": lengths}
    begins = {"train": np.zeros_like(lengths), "val": ends["train"], "test": ends["val"]}
    out = {}
    for name in SPLIT_NAMES:
        first = np.maximum(begins[name], L) - L  # the first window whose targets start in the split
        last = ends[name] - H - L
        count = np.where(last >= first, (last - first) // stride + 1, 0)
        out[name] = WindowRanges(offsets[:-1] + first, count, stride)
    return out


def build_panel(raw: RawPanel, cfg, source: str) -> Tuple[Splits, DataSpec]:
    """Split each series by time, scale it with its training rows, and give each split the windows that lie
    wholly inside one series. All series share one float32 array (rows, columns): no copy per window."""
    L, H = cfg.input_len, cfg.horizon
    n_test, n_val = split_rows(raw, cfg, source)
    ok = _usable(raw, cfg, n_test, n_val, source)
    skipped = [s for s, k in zip(raw.ids, ok) if not k]
    raw, n_test, n_val = raw.select(ok), n_test[ok], n_val[ok]
    n_train = raw.lengths - n_test - n_val
    ids, targets = raw.ids, raw.columns[: raw.n_targets]
    fit = SeriesStandardize.fit if cfg.normalize else None
    scaler = fit(raw.values, raw.offsets, n_train, raw.columns, ids, raw.static) if fit else \
        SeriesStandardize.identity(raw.columns, ids)
    # scaled in place when the panel is already float32 (one made in memory): the data is held once, and the run
    # keeps no rows in original units (`seqlab backtest` reads them; it reloads a run from its files)
    in_place = raw.values.dtype == np.float32
    values = raw.values if in_place else aligned_empty(raw.values.shape, np.float32)
    for k, (a, b) in enumerate(zip(raw.offsets[:-1], raw.offsets[1:])):
        values[a:b] = (raw.values[a:b] - scaler.mean[k]) / scaler.std[k]
    outputs = values if len(targets) == len(raw.columns) else np.ascontiguousarray(values[:, : len(targets)])
    known, inputs, future = panel_known(raw, cfg, values)
    starts = window_starts(raw.offsets, raw.lengths, n_test, n_val, L, H, cfg.stride)
    panel = Panel(ids, raw.offsets)
    info = dict(raw.info or {})
    info.update(series=len(ids), skipped_series=len(skipped), skipped_ids=skipped[:20], rows=int(raw.offsets[-1]),
                length={"min": int(raw.lengths.min()), "median": float(np.median(raw.lengths)),
                        "max": int(raw.lengths.max())},
                features=list(raw.columns), targets=targets, input_len=L, horizon=H, stride=cfg.stride,
                split_steps={"val": int(n_val[0]), "test": "cutoff " + str(cfg.cutoff) if cfg.get("cutoff")
                             else int(n_test.max())},
                windows={k: int(len(v)) for k, v in starts.items()},
                scaling="z-score per series (its training rows)" if cfg.normalize else None)
    log.info("%s: %d series (%d skipped), windows train/val/test = %s", source, len(ids), len(skipped),
             info["windows"])
    artifacts = {"features": list(raw.columns), "targets": targets, "input_len": L, "horizon": H,
                 "time_column": cfg.get("time_column"), "normalize": bool(cfg.normalize),
                 "panel": {"layout": cfg.layout, "id_column": cfg.get("id_column"),
                           "covariates": [c for c in raw.columns[raw.n_targets:] if c not in raw.static],
                           "static_columns": list(raw.static)},
                 "transforms": {"series_standardize": scaler, "windows": Windows(L, H),
                                **({"known_ahead": known} if known else {})},
                 # the kept series as read (load_panel: a function that reads them again), and their split (rows
                 # per series): what `seqlab backtest` forecasts from
                 **({} if in_place else {"panel_rows": raw}),
                 "panel_split_rows": {"train": n_train, "val": n_val, "test": n_test}}
    season = info["season"] = dataset_season(cfg, (info.get("time") or {}).get("time_step"))
    scoring = SeriesScoring(season, outputs, raw.offsets, raw.lengths - n_test, scaler.std[:, : len(targets)],
                            lambda v, series: scaler.invert(v, series, targets), ids, targets)
    splits = Splits(*(WindowSplit(inputs, outputs, starts[k], L, H, panel, future) for k in SPLIT_NAMES),
                    baseline_name=baseline_name(season), baseline_fn=naive_baseline, info=info, artifacts=artifacts,
                    scoring=scoring)
    past = list(raw.columns) + (known.past_names if known else [])  # the model's input channels
    spec = DataSpec(name=cfg.name, task="regression", input_shape=(L, len(past)),
                    output_shape=(H, len(targets)), feature_names=tuple(past), target_names=tuple(targets),
                    future_shape=(H, len(known.future_names)) if known else (),
                    future_names=tuple(known.future_names) if known else ())
    return splits, spec


def panel_known(raw: RawPanel, cfg, values: np.ndarray):
    """(KnownAhead, the past window's channels: the scaled values then calendar sin/cos, the "future" input of
    every row) for dataset.calendar / dataset.future_columns; (None, values, None) without them. The future
    columns are z-scored per series already (SeriesStandardize), so KnownAhead passes them through."""
    calendar, columns = check_names(cfg.get("calendar")), list(cfg.get("future_columns") or [])
    if not calendar and not columns:
        return None, values, None
    if calendar and raw.times is None:
        raise config_error("dataset.calendar", "a panel with dataset.time_column (the calendar is read from it)",
                           calendar)
    past = raw.columns[: len(raw.columns) - len(raw.static)]
    for c in columns:
        if c not in past or c in raw.columns[: raw.n_targets]:
            raise config_error("dataset.future_columns", "numeric columns of the file other than the targets "
                               "(known ahead; they are past covariates too)", c, past[raw.n_targets:])
    known = KnownAhead(calendar, columns, np.zeros(len(columns)), np.ones(len(columns)))
    wall = None if raw.times is None else pd.Series(raw.times)  # calendar rows: one series' rows at a time, alike
    future = known.future(wall, values[:, [raw.columns.index(c) for c in columns]], scale=False)
    if calendar:
        values = np.concatenate([values, known.past(wall, len(values))], axis=1)
    return known, _aligned(values), _aligned(future)


def _aligned(array: np.ndarray) -> np.ndarray:
    """`array` as float32 that TensorFlow reads without a copy (aligned_empty): itself if it is already."""
    if array.dtype == np.float32 and array.flags.c_contiguous and array.ctypes.data % 64 == 0:
        return array
    out = aligned_empty(array.shape, np.float32)
    out[...] = array
    return out


# --------------------------------------------------------------------------- checks before TensorFlow
def check_panel(cfg) -> None:
    """Ranges and combinations, then the file read and planned (pandas only): a bad key fails here."""
    from ..config.checks import check, positive

    ds = cfg.dataset
    positive(ds, "dataset", "input_len", "horizon", "stride", "season")
    positive(ds, "dataset", "val_steps", "min_length", allow_zero=True)
    if ds.test_steps is not None:
        check(ds.test_steps >= ds.horizon, "dataset.test_steps", f"at least horizon = {ds.horizon} steps",
              ds.test_steps)
    if ds.val_steps:
        check(ds.val_steps >= ds.horizon, "dataset.val_steps", f"0 (no validation) or at least horizon = "
              f"{ds.horizon} steps", ds.val_steps)
    check(not (ds.cutoff is not None and ds.test_steps is not None), "dataset.cutoff",
          "either dataset.cutoff or dataset.test_steps, not both", f"cutoff {ds.cutoff}, test_steps {ds.test_steps}")
    check(ds.test_path is None or (ds.cutoff is None and ds.test_steps is None), "dataset.test_path",
          "a test file alone (it decides the test steps), without dataset.cutoff or dataset.test_steps",
          ds.test_path)
    check(len(ds.targets) >= 1, "dataset.targets", "at least one column", list(ds.targets))
    check(not ds.future_columns or ds.layout != "rows", "dataset.future_columns", "dataset.layout=long (columns "
          "beside each series' values) or columns (columns of the wide file shared by every series), known ahead; "
          "a rows file has no place for them", f"dataset.layout={ds.layout}")
    check(not ds.calendar or (ds.time_column is not None and ds.layout != "rows"), "dataset.calendar", "a panel "
          "with dataset.time_column (layout long or columns; the calendar is read from it)",
          f"dataset.layout={ds.layout}, dataset.time_column={ds.time_column}")
    raw, source = read_panel(ds, cfg.data_dir)
    _usable(raw, ds, *split_rows(raw, ds, source), source)


REGISTRIES["dataset"].add("panel", PanelConfig, target="seqlab.data.panel:load_panel", check=check_panel,
                          capabilities={"window_forecasting", "regression", "series_ids"})
