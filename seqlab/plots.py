"""Headless matplotlib figures of predictions: forecast vs actual, confusion matrix; PNG bytes or files."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)  # headless; a backend chosen earlier by the user is kept
    import matplotlib.pyplot as plt

    return plt


def _clock_times(times: Sequence) -> np.ndarray:
    """Timestamps as naive datetime64 (a time zone's wall-clock times kept), which matplotlib draws as dates."""
    import pandas as pd

    index = pd.DatetimeIndex(times)
    return (index.tz_localize(None) if index.tz is not None else index).to_numpy()


def forecast_figure(history: np.ndarray, forecast: np.ndarray, names: Sequence[str],
                    truth: Optional[np.ndarray] = None, title: str = "", max_panels: int = 7,
                    times: Optional[Tuple[Sequence, Sequence]] = None,
                    bands: Optional[Dict[str, Tuple[np.ndarray, np.ndarray]]] = None):
    """One panel per target: history (L, t), then forecast (H, t) and, when known, the truth (H, t); `bands`
    {level label: (lo (H, t), hi (H, t))} are shaded around the forecast, the widest palest.

    The x-axis is steps (0 = the last input row), or with `times` = (L history timestamps, H forecast
    timestamps) the timestamps themselves."""
    plt = _pyplot()
    k = min(len(names), max_panels)
    fig, axes = plt.subplots(k, 1, figsize=(9, 1.9 * k + 0.6), sharex=True, squeeze=False)
    L, H = len(history), len(forecast)
    if times is not None:
        past, future = (_clock_times(t) for t in times)
        cut, xlabel = past[-1] + (future[0] - past[-1]) / 2, "time"
    else:
        past, future = np.arange(-L + 1, 1), np.arange(1, H + 1)
        cut, xlabel = 0.5, "step (0 = last input row)"
    for j, ax in enumerate(axes[:, 0]):
        ax.plot(past, history[:, j], color="0.45", lw=1, label="history")
        if truth is not None:
            ax.plot(future, truth[:, j], color="tab:green", lw=1.2, label="actual")
        for k, (name, (lo, hi)) in enumerate(sorted((bands or {}).items(), key=lambda b: -float(b[0]))):
            ax.fill_between(future, lo[:, j], hi[:, j], color="tab:orange", alpha=0.15 + 0.15 * k, lw=0,
                            label=f"{name}% interval")
        ax.plot(future, forecast[:, j], color="tab:orange", lw=1.2, label="forecast")
        ax.axvline(cut, color="0.8", lw=0.8)
        ax.set_ylabel(str(names[j]), fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="upper left", ncol=3)
    axes[-1, 0].set_xlabel(xlabel, fontsize=8)
    if times is not None:
        fig.autofmt_xdate()
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def confusion_figure(matrix: np.ndarray, class_names: Sequence, title: str = "confusion matrix (test)"):
    """Counts with row-normalised colour: rows are true classes, columns predicted ones."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    k = len(class_names)
    size = min(2.5 + 0.45 * k, 14)
    fig, ax = plt.subplots(figsize=(size, size))
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    labels = [str(c) for c in class_names]
    ax.set_xticks(range(k), labels, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center", fontsize=8)
    ax.set_yticks(range(k), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def error_by_origin_figure(origins: Sequence[int], errors: dict, marks: Sequence[int] = (), title: str = "",
                           xlabel: str = "forecast origin (row)"):
    """A backtest's MSE by forecast origin, one line per forecaster ({name: values}); dotted lines at `marks`
    (the origins where a retrained model takes over)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for (name, values), style in zip(errors.items(), ("o-", "s--", "^:", "d-.")):
        ax.plot(origins, values, style, ms=4, lw=1.2, label=name)
    for x in marks:
        ax.axvline(x, color="0.75", lw=0.8, ls=":")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("MSE (original units)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def to_png(fig) -> bytes:
    """The figure as PNG bytes; the figure is closed (no pyplot state piles up)."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def save_png(fig, path: Path) -> None:
    """Write the figure to `path` atomically as PNG."""
    from .train.outputs import atomic_write

    data = to_png(fig)
    atomic_write(Path(path), lambda tmp: Path(tmp).write_bytes(data))


def png_to_image(data: bytes) -> np.ndarray:
    """PNG bytes -> (height, width, 4) uint8, for tf.summary.image."""
    plt = _pyplot()
    return (plt.imread(io.BytesIO(data), format="png") * 255).astype(np.uint8)
