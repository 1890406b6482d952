"""The rows a backtest forecasts from, as the run's own data loader read them (original units): one series (sine,
csv, ETT: through the run's fitted column transforms) or a panel (per series, through its per-series scaling).
Both give per-series row ranges, the targets, one forecast per series for a window, and a retraining's split."""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from ..config import config_error


class OneSeries:
    """The run's single series: row ranges from its split, forecasts through `SeriesPredictor.predict_at`."""

    def __init__(self, frame, info: Dict, meta: Dict):
        self.frame, self.season = frame, info.get("season")
        self.ids = [str(info.get("source_name") or meta["dataset"])]
        self.ranges = [{k: list(v) for k, v in info["row_ranges"].items()}]  # per series: train/val/test [a, b)
        self.y = [frame[list(meta["targets"])].to_numpy(np.float64)]  # per series (rows, targets)
        self._inputs: Dict[int, np.ndarray] = {}

    def forecast(self, pred, origins: List[int]) -> Dict[str, np.ndarray]:
        """{"forecast", and "lo-80", "hi-80", ... for a run with intervals}, each (series, horizon, targets): each
        series' forecast after its origin row (a quantile model's median), with the values known ahead of the
        horizon (calendar, future columns) read from the rows as `seqlab predict --rolling` reads them."""
        if id(pred) not in self._inputs:  # the model's own fitted transforms (categories, ...) apply
            calendar = pred.known is not None and pred.known.calendar  # read from the time column
            frame = with_time_column(self.frame, pred.meta.get("time_column")) if calendar else self.frame
            rows = pred.read(frame, ignore_extra=True)
            self._inputs[id(pred)] = (rows.x, rows.future)
        x, future = self._inputs[id(pred)]
        return pred.bands_at(x, np.asarray(origins) - pred.input_len + 1, future)

    def refit_overrides(self, cutoff_back: int, val_len: int) -> List[str]:
        """Overrides that end validation `cutoff_back` rows before the end of the test rows."""
        end = self.ranges[0]["test"][1]
        cutoff = end - cutoff_back
        return [f"dataset.boundaries=[{cutoff - val_len},{cutoff},{end}]"]


class Panel:
    """A panel run's series (those its loader kept): row ranges per series, forecasts through `PanelPredictor`."""

    def __init__(self, raw, split_rows: Dict[str, np.ndarray], cfg, info: Dict):
        self.raw, self.cfg, self.season = raw, cfg, info.get("season")
        self.ids = [str(i) for i in raw.ids]
        n_train, n_val, n_test = (np.asarray(split_rows[k]) for k in ("train", "val", "test"))
        self.ranges = [{"train": [0, int(t)], "val": [int(t), int(t + v)], "test": [int(t + v), int(t + v + s)]}
                       for t, v, s in zip(n_train, n_val, n_test)]
        targets = raw.n_targets
        self.y = [np.asarray(raw.values[a:b, :targets], np.float64)
                  for a, b in zip(raw.offsets[:-1], raw.offsets[1:])]

    def forecast(self, pred, origins: List[int]) -> Dict[str, np.ndarray]:
        starts = self.raw.offsets[:-1] + np.asarray(origins) - pred.input_len + 1
        series = pred.scaler.series(self.ids, "RUN_DIR")
        values, future = self.raw.values, None
        if pred.known is not None:  # calendar channels and the values known ahead, from the run's own rows
            values, future = self._known(pred.known)
            future = pred.windows.targets(future, starts)  # (series, horizon, F) raw
        return pred.predict_bands(pred.windows.inputs(values, starts), series, future)

    def _known(self, known):
        """(the rows with their calendar channels, every row's raw values known ahead), as training read them."""
        import pandas as pd

        raw = self.raw
        wall = None if raw.times is None else pd.Series(raw.times)
        cols = raw.values[:, [raw.columns.index(c) for c in known.columns]]
        return np.concatenate([raw.values, known.past(wall, len(raw.values))], axis=1), \
            known.future(wall, cols, scale=False)

    def refit_overrides(self, cutoff_back: int, val_len: int) -> List[str]:
        """Every series' test rows start `cutoff_back` rows before its end (validation keeps its steps)."""
        ds = self.cfg.dataset
        for key in ("cutoff", "test_path"):
            if ds.get(key) is not None:
                raise config_error("--refit", "a panel run split by dataset.test_steps (a retraining moves it)",
                                   f"a run split by dataset.{key}")
        return [f"dataset.test_steps={cutoff_back}"]


_PARTS = ("year", "month", "day", "hour", "minute", "second")  # time columns given as parts (dataset.time_column)


def with_time_column(frame, time_column):
    """The loader's rows (indexed by their local wall-clock time, the time column dropped) with the time column
    back, as the run's input file had it, so predict's reading (calendar features, time steps) applies as it is."""
    import pandas as pd

    if not time_column or not isinstance(frame.index, pd.DatetimeIndex):
        return frame
    names = [time_column] if isinstance(time_column, str) else list(time_column)
    if len(names) == 1:
        return frame.reset_index(drop=True).assign(**{names[0]: frame.index.astype(str)})
    unknown = [n for n in names if n not in _PARTS]
    if unknown:
        raise config_error("dataset.time_column", f"time columns named by their parts {list(_PARTS)} for a "
                           "backtest of a run with calendar features", names)
    return frame.reset_index(drop=True).assign(**{n: getattr(frame.index, n) for n in names})


def rows_of(splits, cfg, meta: Dict) -> "OneSeries | Panel":
    """The backtest's view of a loaded run's data, or a ConfigError when its loader keeps no rows."""
    art = splits.artifacts
    if "panel_rows" in art:
        rows = art["panel_rows"]  # the series as read, or (a panel read from files) a function reading them again
        return Panel(rows() if callable(rows) else rows, art["panel_split_rows"], cfg, splits.info)
    if "frame" in art:
        return OneSeries(art["frame"], {**splits.info, "source_name": art.get("source")}, meta)
    raise config_error("RUN_DIR", "a run of a dataset whose loader keeps its rows (sine, csv, ETT, panel)",
                       f"dataset={cfg.dataset.name}")


def tightest(ranges: List[Dict[str, List[int]]], input_len: int, horizon: int) -> int:
    """The series with the fewest origins in its test rows: it decides how many windows fit."""
    return int(np.argmin([r["test"][1] - max(r["test"][0], input_len) for r in ranges]))
