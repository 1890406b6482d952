"""A panel run's inputs known ahead at predict time: each series' rows after its history that hold only the time
and the future columns (neuralforecast's futr_df, appended to the input), read one series at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import pandas as pd

from ..config import config_error

WIDE_ID = "__series"  # the series' column name in a wide input's rows ahead


def split_ahead(frame: pd.DataFrame, meta: dict, known) -> Tuple[pd.DataFrame, Optional[pd.DataFrame]]:
    """(history rows, rows known ahead) of a long input: a row is ahead when its targets and past covariates
    (other than the future columns) are all empty. A wide input (layout columns): the whole frame, and each
    series' rows after its last value (its cells empty there), the shared future columns filled. The rows layout
    has no column beside the values: (frame, None)."""
    layout = meta.get("layout", "long")
    if layout == "rows":
        return frame, None
    missing = [c for c in known.columns if c not in frame.columns]
    if missing:
        raise config_error("INPUT", f"the run's future columns {known.columns} (their values for the horizon after "
                           "each series' history are inputs)", f"missing {missing}", list(frame.columns))
    if layout == "columns":
        return frame, _wide_ahead(frame, meta, known)
    others = [c for c in list(meta["targets"]) + list(meta.get("covariates") or [])
              if c not in known.columns and c in frame.columns]
    ahead = frame[others].isna().all(axis=1).to_numpy() if others else np.zeros(len(frame), bool)
    return frame[~ahead], frame[ahead]


def known_inputs(pred, raw, ahead: Optional[pd.DataFrame], x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The last windows `x` (series, input_len, features) with their calendar channels, and the values known
    ahead of each series' horizon (series, horizon, F) raw: the calendar from the times of the rows ahead (or
    the run's time step after the history), the future columns from the rows ahead. A series without them is
    refused, naming it and the columns."""
    known, L, H = pred.known, pred.input_len, pred.horizon
    if known.calendar and raw.times is None:
        raise config_error("INPUT", f"the run's time column {pred.meta.get('time_column')!r} (its calendar "
                           f"features {known.calendar} are read from it)", "none")
    rows = _ahead_by_series(pred.meta, ahead, raw.ids)
    step = pd.Timedelta(pred.meta.get("time_step") or 0)
    past, future, short = [], [], []
    for k, sid in enumerate(raw.ids):
        end = raw.offsets[k + 1]
        wall = None if raw.times is None else pd.Series(raw.times[end - L:end])
        got = rows.get(sid)
        values = np.full((H, len(known.columns)), np.nan)
        if got is not None and known.columns:
            n = min(H, len(got))
            values[:n] = got[known.columns].to_numpy(np.float64)[:n]
        if known.columns and not np.isfinite(values).all():
            short.append((sid, [c for j, c in enumerate(known.columns) if not np.isfinite(values[:, j]).all()]))
        ahead_wall = None
        if wall is not None:
            if got is not None and len(got) >= H:
                ahead_wall = pd.Series(got["__time"].to_numpy()[:H])
            else:  # calendar only: the run's step after the history
                ahead_wall = wall.iloc[-1] + step * pd.Series(np.arange(1, H + 1))
        past.append(known.past(wall, L))
        future.append(known.future(ahead_wall, values, scale=False))
    if short:
        raise config_error("INPUT", f"{H} rows after each series' history with its future columns "
                           f"{known.columns} filled (values known ahead for the horizon; in a long "
                           "file only the id, time and future columns set, in a wide one the series' cells empty)",
                           f"{len(short)} series without them, first {short[0][0]!r} "
                           f"missing {short[0][1]}")
    return np.concatenate([x, np.stack(past)], axis=-1), np.stack(future)


def _wide_ahead(frame: pd.DataFrame, meta: dict, known) -> pd.DataFrame:
    """The rows after each series' last value in a wide input, as long rows (WIDE_ID, time, future columns)."""
    timec = meta.get("time_column")
    keep = [c for c in [timec, *known.columns] if c is not None]
    parts = []
    for c in frame.columns:
        if c == timec or c in known.columns or not pd.api.types.is_numeric_dtype(frame[c]):
            continue
        present = np.flatnonzero(frame[c].notna().to_numpy())
        end = present[-1] + 1 if len(present) else 0
        parts.append(frame.iloc[end:end + int(meta["horizon"])][keep].assign(**{WIDE_ID: str(c)}))
    return pd.concat(parts, ignore_index=True) if parts else None


def _ahead_by_series(meta: dict, ahead: Optional[pd.DataFrame], ids) -> dict:
    """{series id: its rows ahead in time order, with their timestamps in "__time"}."""
    if ahead is None or not len(ahead):
        return {}
    from ..data.timecolumns import _timestamps

    idc = meta.get("id_column") if meta.get("layout", "long") == "long" else WIDE_ID
    timec = meta.get("time_column")
    ahead = ahead.copy()
    if timec is not None:
        ahead["__time"] = _timestamps(ahead, [timec], Path("INPUT"), meta.get("time_unit"), "INPUT",
                                      meta.get("time_format")).to_numpy()
    else:
        ahead["__time"] = np.arange(len(ahead))
    ahead[idc] = ahead[idc].astype(str)
    return {sid: g.sort_values("__time", kind="stable") for sid, g in ahead.groupby(idc) if sid in set(ids)}
