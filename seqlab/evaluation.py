"""Test metrics beyond Keras' own: per-class precision/recall/F1, ROC AUC, confusion matrix; regression errors
in the data's original units."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .data.labels import LabelMap

class_probabilities = LabelMap.probabilities  # (n, 1) sigmoid or (n, K) softmax outputs -> (n, K)
_CACHE: Dict[Tuple, np.ndarray] = {}  # one entry: the last test predictions (images and metrics share them)


def predict_split(model, split, batch_size: int) -> np.ndarray:
    """The model's outputs on a split in its order (inference mode); the last answer is reused."""
    step = int(model.optimizer.iterations.numpy()) if getattr(model, "optimizer", None) is not None else -1
    key = (id(model), id(split), step, batch_size)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = np.asarray(model.predict(split.dataset(batch_size), verbose=0))
    return _CACHE[key]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts: rows true class, columns predicted class."""
    return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> Optional[float]:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged); None with one class only."""
    y_true = np.asarray(y_true).astype(bool)
    pos, neg = int(y_true.sum()), int((~y_true).sum())
    if not pos or not neg:
        return None
    _, inverse, counts = np.unique(np.asarray(score), return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse.ravel()]  # 1-based ranks, ties share their mean
    return float((ranks[y_true].sum() - pos * (pos + 1) / 2) / (pos * neg))


def classification_report(y_true: np.ndarray, probs: np.ndarray, class_names) -> Dict[str, Any]:
    """Per-class precision/recall/F1 and support, their macro means, the confusion matrix, ROC AUC (2 classes)."""
    k = probs.shape[1]
    cm = confusion_matrix(y_true, probs.argmax(axis=1), k)
    tp = np.diag(cm).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(cm.sum(axis=0) > 0, tp / cm.sum(axis=0), 0.0)
        recall = np.where(cm.sum(axis=1) > 0, tp / cm.sum(axis=1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    per_class = {str(c): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for c, p, r, f, s in zip(class_names, precision, recall, f1, cm.sum(axis=1))}
    out: Dict[str, Any] = {"per_class": per_class, "macro_precision": float(precision.mean()),
                           "macro_recall": float(recall.mean()), "macro_f1": float(f1.mean()),
                           "confusion_matrix": cm.tolist(), "class_names": [str(c) for c in class_names]}
    if k == 2:
        out["roc_auc"] = roc_auc(y_true, probs[:, 1])
    return out


def regression_original_units(y_true: np.ndarray, y_pred: np.ndarray, std: Optional[np.ndarray]) -> Dict[str, Any]:
    """MSE/MAE with the z-scoring undone (errors times each target's std), overall and per target."""
    err = (np.asarray(y_true, np.float64) - np.asarray(y_pred, np.float64))
    err = err.reshape(len(err), -1, err.shape[-1] if err.ndim > 1 else 1)  # (n, steps, targets)
    if std is not None:
        err = err * np.asarray(std, np.float64)
    return {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err))),
            "mse_per_target": np.mean(err**2, axis=(0, 1)).tolist(),
            "mae_per_target": np.mean(np.abs(err), axis=(0, 1)).tolist()}


def extra_test_metrics(model, splits, spec, artifacts: Dict[str, Any], batch_size: int = 256) -> Dict[str, Any]:
    """metrics.json additions for the test split. Classification: {"classification": classification_report};
    regression: {"test_original_units": {mse, mae, per target}} (same as the standardised ones without
    normalisation), and for forecasting windows {"series_scores": data.scoring.Accumulator} (sMAPE, MASE) and
    {"val_scores": {smape, mase}} (validation windows, scaled as the test's).
    `artifacts` is inference_info's dict (class names, normalisation, target names)."""
    test = splits.test
    if not len(test):
        return {}
    y = test.arrays()[1]
    out = predict_split(model, test, batch_size)
    if spec.task == "regression":
        from .data.intervals import point
        from .models.heads import quantiles_of

        out = point(out, quantiles_of(model))  # a quantile model's median
        norm, targets = artifacts.get("normalization"), artifacts.get("targets") or list(spec.target_names)
        std = np.array([norm["std"][t] for t in targets]) if norm and targets else None
        if splits.scoring is not None:  # windows (a panel's scaling is per series): back through the fitted scaling
            series = test.series_index()
            report = regression_original_units(splits.scoring.invert(y, series),
                                               splits.scoring.invert(np.reshape(out, y.shape), series), None)
        else:
            report = regression_original_units(y, out, std)
        report["targets"] = targets
        extra: Dict[str, Any] = {"test_original_units": report}
        if splits.scoring is not None:  # forecasting windows: sMAPE/MASE per series on original values
            from .data.scoring import forecast_scores

            extra["series_scores"] = forecast_scores(test, out, splits.scoring)
            if len(splits.val):  # the same means on validation windows: to choose a configuration, never on test
                val = point(np.asarray(model.predict(splits.val.dataset(batch_size), verbose=0)), quantiles_of(model))
                extra["val_scores"] = forecast_scores(splits.val, val, splits.scoring).summary()
        return extra
    names = artifacts.get("class_names") or list(range(spec.num_classes))
    return {"classification": classification_report(np.asarray(y).astype(np.int64).ravel(),
                                                    class_probabilities(out), names)}
