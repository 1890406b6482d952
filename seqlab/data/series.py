"""Forecasting datasets (sine, csv, ETT): sliding windows over one multivariate series, ETT split protocol."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd
from omegaconf import MISSING, OmegaConf

from ..config import config_error
from ..config.schema import DatasetConfig
from ..registry import REGISTRIES
from . import download
from .base import DataSpec, Splits, WindowSplit
from .known import fit_known, plan_known, wall_times
from .scoring import SeriesScoring, baseline_name, dataset_season, naive_baseline
from .tabular import AUTO, read_table
from .timecolumns import parse_time
from .transforms import OneHot, Standardize, Windows
from .windows import SPLIT_NAMES, plan_windows, split_boundaries, window_starts  # noqa: F401 (window_starts: API)

log = logging.getLogger(__name__)


@dataclass
class SeriesConfig(DatasetConfig):
    """Forecasting from sliding windows over a multivariate series."""

    input_len: int = 48  # input window length (time steps)
    horizon: int = 12  # steps forecast after each window
    stride: int = 1  # steps between consecutive windows
    # fractions of rows for (train, val); test gets the rest
    split: List[float] = field(default_factory=lambda: [0.7, 0.15])
    # explicit row boundaries [train_end, val_end, test_end]; override `split` when set
    boundaries: Optional[List[int]] = None
    features: Optional[List[str]] = None  # input columns; default: all numeric columns
    targets: Optional[List[str]] = None  # output columns; default: all numeric columns
    normalize: bool = True  # z-score with training-split statistics only
    interpolate: bool = False  # fill NaNs by linear interpolation instead of failing
    season: Optional[int] = None  # for MASE and the seasonal naive baseline; default: 24 hourly, 7 daily, else 1
    # inputs known in advance for the horizon (docs/future-inputs.md)
    calendar: List[str] = field(default_factory=list)  # sin/cos of the time column: hour, dayofweek, month, ...
    future_columns: List[str] = field(default_factory=list)  # columns known ahead (prices, promotions), no gaps


@dataclass
class SineConfig(SeriesConfig):
    length: int = 4000  # time steps generated
    channels: int = 2  # series generated
    # sine periods (steps) mixed into each series
    periods: List[float] = field(default_factory=lambda: [24.0, 57.0, 130.0])
    noise: float = 0.1  # Gaussian noise standard deviation


@dataclass
class FileSeriesConfig(SeriesConfig):
    """A series read from a CSV file: its dialect (detected by default), time column and text columns."""

    sep: str = AUTO  # field separator: auto | , | ; | \t | |
    decimal: str = AUTO  # decimal mark: auto | . | ,
    thousands: Optional[str] = None  # thousands separator, e.g. "," or "." (numbers that need one are refused)
    encoding: str = AUTO  # auto (BOM, else UTF-8, else cp1252) or a codec name
    # a column of timestamps, or [year, month, day, hour, ...] columns; parsed, checked for order/gaps, dropped
    time_column: Any = None
    time_unit: Optional[str] = None  # for a numeric time column: s | ms | us | ns | m | h | D
    time_format: Optional[str] = None  # strptime format of the time column, e.g. %Y%m%d%H (default: inferred)
    sort: bool = False  # sort rows by time instead of refusing rows out of order
    categorical: Optional[List[str]] = None  # text columns one-hot encoded as features (training categories)


@dataclass
class CsvConfig(FileSeriesConfig):
    path: str = MISSING  # the CSV file (plain or .gz)


@dataclass
class EttConfig(FileSeriesConfig):
    """ETT benchmark under the DLinear/PatchTST protocol (boundaries in rows)."""

    file: str = "ETTh1.csv.gz"  # file name under data_dir
    url: str = ""  # where a missing file is downloaded from
    sha256: str = ""  # the download's checksum
    time_column: Any = "date"


def load_sine(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """The embedded synthetic series: `channels` noisy sums of sines with the given `periods`."""
    frame, info = sine_frame(cfg.length, cfg.channels, list(cfg.periods), cfg.noise, seed)
    return build_windows(frame, cfg, "sine", info)


def load_csv(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """Any time-series CSV (plain or .gz) at `dataset.path`."""
    path = download.local_path(_get(cfg, "path"), "dataset.path", data_dir)
    frame, info = read_series(path, "dataset.path", cfg)
    return build_windows(frame, cfg, path.name, info)


def load_ett(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """ETTh1 / ETTm1: `dataset.file` (or its uncompressed name) from data_dir or the cache, else downloaded."""
    plain = cfg.file[:-3] if cfg.file.endswith(".gz") else cfg.file
    path = download.find([cfg.file, plain], data_dir)
    if path is not None:
        download.verify(path, cfg.sha256)  # cfg.sha256 is that of the uncompressed original CSV
    else:
        if not cfg.url:
            raise config_error("dataset.url", f"a URL to download {plain} from, as neither {cfg.file} nor {plain} "
                               f"is in data_dir or the cache ({download.search_dirs(data_dir)})", cfg.url)
        path = download.fetch(plain, cfg.url, cfg.sha256, data_dir)
    frame, info = read_series(path, "dataset.file", cfg)
    return build_windows(frame, cfg, path.name, info)


def sine_frame(length: int, channels: int, periods: List[float], noise: float,
               seed: int) -> Tuple[pd.DataFrame, Dict]:
    """`channels` columns, each a sum of sines (random amplitude/phase per channel) plus gaussian noise."""
    if not periods or any(p <= 0 for p in periods):
        raise config_error("dataset.periods", "a non-empty list of positive periods (in rows)", periods)
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    columns, params = {}, {}
    for c in range(channels):
        amp = rng.uniform(0.5, 1.5, len(periods))
        phase = rng.uniform(0.0, 2 * math.pi, len(periods))
        x = sum(a * np.sin(2 * math.pi * t / p + ph) for a, p, ph in zip(amp, periods, phase))
        columns[f"sine_{c}"] = x + rng.normal(0.0, noise, length)
        params[f"sine_{c}"] = {"amplitude": amp.tolist(), "phase": phase.tolist()}
    info = {"source": "sine (synthetic)", "periods": list(periods), "noise": noise, "components": params}
    return pd.DataFrame(columns), info


_READ_CACHE: Dict[tuple, Tuple[pd.DataFrame, Dict]] = {}


def read_series(path: Path, key: str, ds) -> Tuple[pd.DataFrame, Dict]:
    """Read a series CSV in its dialect; the time column(s), if any, are parsed, checked and dropped.

    Returns (frame, info: source, dialect, text columns, time report). Cached per file and options, so the
    checks before TensorFlow and the loader read a file once."""
    time_column = ds.time_column
    columns = [] if time_column is None else [time_column] if isinstance(time_column, str) else list(time_column)
    opts = (ds.sep, ds.decimal, ds.thousands, ds.encoding, tuple(columns), ds.time_unit, bool(ds.sort), ds.time_format)
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, key) + opts
    if cache_key in _READ_CACHE:
        frame, info = _READ_CACHE[cache_key]
        return frame, dict(info)
    table = read_table(path, key, sep=opts[0], decimal=opts[1], thousands=opts[2], encoding=opts[3],
                       time_columns=columns)
    frame = table.frame
    info: Dict = {"source": str(path), **table.describe()}
    if columns:
        frame, times, report = parse_time(frame, columns, path, unit=opts[5], sort=opts[6], time_format=opts[7])
        info["time"] = report
        info["time_range"] = report["time_range"]
        info["string_columns"] = [c for c in info["string_columns"] if c not in columns]
    _READ_CACHE.clear()  # one file at a time: a sweep's trials read the same one
    _READ_CACHE[cache_key] = (frame, info)
    return frame, dict(info)


def _encoded(frame: pd.DataFrame, cfg, source: str, info: Optional[Dict] = None):
    """(frame with `dataset.categorical` one-hot encoded, cfg, source, the fitted OneHot or None)."""
    cats = list(cfg.get("categorical") or [])  # .get: dataset=sine has no categorical columns
    if not cats:
        return frame, cfg, source, None
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    for c in cats:
        if c in frame.columns and c not in text:
            raise config_error("dataset.categorical", f"text columns of {source} to one-hot encode", c, text)
    encoder = OneHot.fit(frame, cats, split_boundaries(cfg, len(frame), source)[0], source)
    if info is not None:
        info["categorical"] = encoder.categories
    return encoder.apply(frame, "dataset.path"), cfg, source, encoder


def build_windows(frame: pd.DataFrame, cfg, source: str, info: Dict) -> Tuple[Splits, DataSpec]:
    """Split rows, z-score with training rows only and wrap each split's windows in a WindowSplit."""
    raw = frame  # the rows as read (original units, categories as text): what `seqlab backtest` forecasts from
    frame, cfg, source, encoder = _encoded(frame, cfg, source, info)
    features, targets, bounds, ranges, starts = plan_windows(frame, cfg, source, encoder)
    calendar, future_columns = plan_known(frame, cfg, source, bounds[2])
    features = features + [c for c in future_columns if c not in features]  # known ahead: past channels too
    unused = [c for c in frame.columns if c not in features and c not in targets]
    if unused:
        info["unused_columns"] = unused
        log.info("%s: columns not used as features or targets: %s", source, ", ".join(unused))
    log.info("%s: features %s; targets %s", source, ", ".join(features), ", ".join(targets))
    used = list(dict.fromkeys(features + targets))
    L, H = cfg.input_len, cfg.horizon
    data = frame[used].iloc[: bounds[2]]  # rows after test_end are never read by any window
    data = _fill_missing(data, bool(cfg.interpolate), source, info)
    values = data.to_numpy(np.float64)  # (rows, used columns)
    scaler = Standardize.fit(values[: bounds[0]], used) if cfg.normalize else Standardize.identity(used)
    if cfg.normalize:
        info["normalization"] = {"rows": [0, bounds[0]], "mean": dict(zip(used, scaler.mean.tolist())),
                                 "std": dict(zip(used, scaler.std.tolist())),
                                 "constant_columns": [c for c, s in zip(used, values[: bounds[0]].std(axis=0))
                                                      if not s > 1e-12]}
    col = {c: i for i, c in enumerate(used)}
    # the same transform (and column order) as predict and export apply to raw windows
    inputs = np.ascontiguousarray(scaler.apply(values[:, [col[c] for c in features]], features), dtype=np.float32)
    outputs = np.ascontiguousarray(scaler.apply(values[:, [col[c] for c in targets]], targets), dtype=np.float32)
    known, future = fit_known(calendar, future_columns, scaler), None
    if known is not None:  # calendar channels beside the past features; the "future" input of every row
        wall = wall_times(data)
        inputs = np.ascontiguousarray(np.concatenate([inputs, known.past(wall, len(inputs))], axis=1))
        future = np.ascontiguousarray(known.future(wall, values[:, [col[c] for c in future_columns]]))

    info.update(features=features, targets=targets, rows=len(frame),
                row_ranges={k: list(v) for k, v in ranges.items()},
                windows={k: int(len(v)) for k, v in starts.items()}, input_len=L, horizon=H, stride=cfg.stride)
    log.info("%s: windows train/val/test = %s", source, info["windows"])
    norm = info.get("normalization", {})
    transforms = {"standardize": scaler, "windows": Windows(L, H), **({"one_hot": encoder} if encoder else {}),
                  **({"known_ahead": known} if known else {})}
    artifacts = {"features": features, "targets": targets, "input_len": L, "horizon": H,
                 "time_column": cfg.get("time_column"),  # .get: dataset=sine has no time column
                 "normalize": bool(cfg.normalize),
                 "mean": norm.get("mean"), "std": norm.get("std"),  # per column; None without normalize
                 "transforms": transforms, "frame": raw, "source": source}
    season = info["season"] = dataset_season(cfg, (info.get("time") or {}).get("time_step"))
    scoring = SeriesScoring(  # one series (every window is series 0); in-sample: the rows before the test split
        season, outputs, [0, len(outputs)], [bounds[1]], scaler.stats(targets)[1][None, :],
        lambda v, _series: scaler.invert(v, targets), [source], targets)
    splits = Splits(*(WindowSplit(inputs, outputs, starts[k], L, H, future=future) for k in SPLIT_NAMES),
                    baseline_name=baseline_name(season), baseline_fn=naive_baseline, info=info, artifacts=artifacts,
                    scoring=scoring)
    past = features + (known.past_names if known else [])  # the model's input channels
    spec = DataSpec(name=cfg.name, task="regression", input_shape=(L, len(past)),
                    output_shape=(H, len(targets)), feature_names=tuple(past), target_names=tuple(targets),
                    future_shape=(H, len(known.future_names)) if known else (),
                    future_names=tuple(known.future_names) if known else ())
    return splits, spec


def _get(cfg, key: str):
    return None if OmegaConf.is_missing(cfg, key) else cfg.get(key)


def _fill_missing(data: pd.DataFrame, interpolate: bool, source: str, info: Dict) -> pd.DataFrame:
    missing = {c: int(k) for c, k in data.isna().sum().items() if k}
    if not missing:
        return data
    if not interpolate:
        col, k = next(iter(missing.items()))
        raise config_error("dataset.interpolate", "true to fill NaNs by linear interpolation, or a series without "
                           f"NaNs (NaN counts per column: {missing})", f"{k} NaN values in column {col!r} of {source}")
    empty = [c for c in missing if missing[c] == len(data)]
    if empty:
        raise config_error("dataset.interpolate", f"columns of {source} with at least one value to interpolate from",
                           f"only NaNs in {empty}")
    info["interpolated"] = missing
    # limit_direction="both" holds the first/last valid value at the ends instead of leaving NaNs there
    return data.interpolate(method="linear", limit_direction="both")


# --------------------------------------------------------------------------- checks before TensorFlow
def _check_windows(cfg) -> None:
    from ..config.checks import check, positive

    ds = cfg.dataset
    positive(ds, "dataset", "input_len", "horizon", "stride", "season")
    if ds.boundaries is not None:
        b = list(ds.boundaries)
        check(len(b) == 3 and all(x > 0 for x in b) and b[0] < b[1] < b[2], "dataset.boundaries",
              "three increasing row numbers [train_end, val_end, test_end]", b)
    else:
        s = list(ds.split)
        check(len(s) == 2 and all(0 < x < 1 for x in s) and sum(s) < 1, "dataset.split",
              "two fractions [train, val] in (0, 1) summing to < 1 (test gets the rest)", s)


def _plan(frame: pd.DataFrame, ds, source: str, encoder=None) -> None:
    """The windows and the inputs known ahead of a frame, checked as the loader will (no TensorFlow)."""
    bounds = plan_windows(frame, ds, source, encoder)[2]
    plan_known(frame, ds, source, bounds[2])


def check_sine(cfg) -> None:
    """Ranges, then the windows of the (cheap) generated series: too short a series fails here."""
    from ..config.checks import positive

    _check_windows(cfg)
    ds = cfg.dataset
    positive(ds, "dataset", "length", "channels")
    positive(ds, "dataset", "noise", allow_zero=True)
    frame, _ = sine_frame(ds.length, ds.channels, list(ds.periods), ds.noise, cfg.seed)
    _plan(frame, ds, "sine")


def check_csv(cfg) -> None:
    """The file exists and reads; its columns and length fit the config (pandas only)."""
    _check_windows(cfg)
    path = download.local_path(_get(cfg.dataset, "path"), "dataset.path", cfg.data_dir)
    frame, _ = read_series(path, "dataset.path", cfg.dataset)
    _plan(*_encoded(frame, cfg.dataset, path.name))


def check_ett(cfg) -> None:
    """Like csv when the file is already local; a missing one is downloaded (and checked) by the loader."""
    _check_windows(cfg)
    ds = cfg.dataset
    path = download.find([ds.file, ds.file[:-3] if ds.file.endswith(".gz") else ds.file], cfg.data_dir)
    if path is not None:
        frame, _ = read_series(path, "dataset.file", ds)
        _plan(*_encoded(frame, ds, path.name))


_FORECASTING = {"window_forecasting", "regression"}
REGISTRIES["dataset"].add("sine", SineConfig, target="seqlab.data.series:load_sine", check=check_sine,
                          capabilities=_FORECASTING)
REGISTRIES["dataset"].add("csv", CsvConfig, target="seqlab.data.series:load_csv", check=check_csv,
                          capabilities=_FORECASTING)
for _name in ("etth1", "ettm1", "etth2", "ettm2"):
    REGISTRIES["dataset"].add(_name, EttConfig, target="seqlab.data.series:load_ett", check=check_ett,
                              capabilities=_FORECASTING, schema_name="ett")
