"""What a forecasting export serves besides the model's outputs: the forecast in original units, a quantile model's
quantiles and the run's conformal interval bounds (docs/intervals.md), and their parity with `seqlab predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict

import numpy as np

from ..data.intervals import bands


def serving_name(key: str) -> str:
    """"lo-80" -> "lo_80", "hi-97.5" -> "hi_97_5": a SavedModel output name."""
    return key.replace("-", "_").replace(".", "_")


def forecast_outputs(pred, out, original: Callable) -> Dict:
    """The serving outputs of a forecast in original units: "forecast" (a quantile model's median), "quantiles"
    (batch, horizon, targets, quantiles) and "lo_80", "hi_80", ... for the run's conformal intervals, computed by the
    predictor's own arithmetic (data.intervals.bands) in TensorFlow."""
    import tensorflow as tf

    quantiles = pred.meta.get("quantiles")
    res = {serving_name(k): v for k, v in bands(out, quantiles, pred.transforms.get("intervals"), original).items()}
    if quantiles:
        res["quantiles"] = tf.stack([original(out[..., i]) for i in range(len(quantiles))], axis=-1)
    return res


def band_parity(pred, path: Path, raw) -> float:
    """The largest difference, relative to the values' size (at least 1), between the forecast and interval bounds
    the SavedModel at `path` serves and those `seqlab predict` computes on the same raw examples; 0 for runs that
    are not forecasts."""
    import tensorflow as tf

    if pred.meta["kind"] not in ("series", "panel"):
        return 0.0
    args = raw if isinstance(raw, tuple) else (raw,)  # panel: (raw windows, series ids)
    loaded = tf.saved_model.load(str(path))  # kept: its variables die with it
    served = loaded.serve(*map(tf.constant, args))
    expected = pred.predict_bands(*args)
    worst = 0.0
    for key, want in expected.items():
        got = np.asarray(served[serving_name(key)], np.float64)
        worst = max(worst, float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want))))))
    return worst
