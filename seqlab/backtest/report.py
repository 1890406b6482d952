"""A backtest's outputs, each written atomically: backtest.csv (one row per window), forecasts.csv (one row per
window and step), backtest.md (the aggregate beside the baselines) and backtest.png (error by origin)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from .scoring import FORECASTERS, METRICS, NAMES, interval_keys

FILES = ("backtest.csv", "forecasts.csv", "backtest.md", "backtest.png")


def windows_table(rows: Sequence[Dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def forecasts_table(windows: Sequence[Dict[str, object]], targets: List[str]) -> pd.DataFrame:
    """id, window, origin, step, then per target the forecast, its `<target>_lo-80`, `<target>_hi-80`, ... (runs
    with intervals) and `<target>_actual` (as `seqlab predict --format wide`)."""
    parts = []
    for w in windows:
        bands = {k: np.asarray(v) for k, v in w.get("bands", {}).items()}  # each (series, horizon, targets)
        for s, (row, forecast, truth) in enumerate(zip(w["rows"], np.asarray(w["forecast"]), np.asarray(w["truth"]))):
            part = pd.DataFrame({"id": row["id"], "window": row["window"], "origin": row["origin"],
                                 "step": np.arange(1, len(forecast) + 1)})  # forecast, truth: (horizon, targets)
            for j, name in enumerate(targets):
                part[name] = forecast[:, j]
                for key, values in bands.items():
                    part[f"{name}_{key}"] = values[s][:, j]
                part[f"{name}_actual"] = truth[:, j]
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def by_window(rows: Sequence[Dict[str, object]]) -> List[Dict[str, object]]:
    """One row per window: the series' own for a single series, else the mean of every score over the series."""
    table = pd.DataFrame(list(rows))
    if table["id"].nunique() == 1:
        return list(rows)
    scores = [f"{f}_{m}" for f in FORECASTERS for m in METRICS] + interval_keys(rows)
    out = table.groupby("window", sort=True)[scores].mean()
    out["origin"], out["model"] = "per series", table.groupby("window")["model"].first()
    return [{"window": int(i), **r} for i, r in zip(out.index, out.to_dict("records"))]


def _fmt(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def markdown(summary: Dict[str, Dict[str, Optional[float]]], rows: Sequence[Dict[str, object]],
             header: Dict[str, object]) -> str:
    """The aggregate table (mean over windows, original units) beside the baselines, then every window."""
    lines = [f"# Backtest of {header['run_dir']}", ""]
    lines += [f"- {k}: {v}" for k, v in header.items() if k != "run_dir"]
    lines += ["", "| forecaster | " + " | ".join(m.upper() if m != "smape" else "sMAPE" for m in METRICS)
              + " | model better in |", "|---" * (len(METRICS) + 2) + "|"]
    for name in FORECASTERS:
        wins = summary[name].get("wins")
        lines.append(f"| {NAMES[name]} | " + " | ".join(_fmt(summary[name][m]) for m in METRICS)
                     + f" | {'' if wins is None else f'{wins:.0%} of windows'} |")
    bands = [k[len("model_"):] for k in interval_keys(rows)]
    if bands:  # the run's saved intervals: coverage against the nominal level, width, MSIS (mean over windows)
        lines += ["", "| intervals | " + " | ".join(bands) + " |", "|---" * (len(bands) + 1) + "|",
                  "| model | " + " | ".join(_fmt(summary["model"][b]) for b in bands) + " |"]
    cols = ["window", "origin", "model", *(f"{f}_{m}" for f in FORECASTERS for m in ("mse", "mae"))]
    lines += ["", "## Windows (MSE / MAE in original units; panels: the mean over series)", "",
              "| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
    for r in by_window(rows):
        lines.append("| " + " | ".join(_fmt(r[c]) if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_all(out: Path, rows, windows, targets, summary, header, refits) -> Dict[str, Path]:
    """Every output file into `out`, each atomically; returns them by name."""
    from .. import plots
    from ..train.outputs import atomic_write, write_text

    paths = {name: Path(out) / name for name in FILES}
    atomic_write(paths["backtest.csv"], lambda tmp: windows_table(rows).to_csv(tmp, index=False))
    atomic_write(paths["forecasts.csv"], lambda tmp: forecasts_table(windows, targets).to_csv(tmp, index=False))
    write_text(paths["backtest.md"], markdown(summary, rows, header))
    per = by_window(rows)
    x = [r["origin"] if per is rows else r["window"] for r in per]  # panels: each series has its own origins
    lines = {NAMES[f]: [r[f"{f}_mse"] for r in per] for f in FORECASTERS}
    fig = plots.error_by_origin_figure(x, lines, [x[i] for i in refits], f"backtest of {header['run_dir']}",
                                       "forecast origin (row)" if per is rows else "window")
    plots.save_png(fig, paths["backtest.png"])
    return paths
