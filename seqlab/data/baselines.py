"""The naive baselines every run is scored beside: the training mean (regression without a natural forecast) and
the training split's majority class (classification). Forecasting datasets bring their own (seasonal naive)."""

from __future__ import annotations

from typing import Dict

import numpy as np

from .base import Splits


def regression_baseline(y_true: np.ndarray, y_pred: np.ndarray) -> Dict[str, float]:
    err = np.asarray(y_true, np.float64) - np.asarray(y_pred, np.float64)
    return {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err)))}


def mean_baseline(splits: Splits) -> Dict[str, float]:
    """The regression `baseline_fn` without a natural forecast: always predict the training mean of y."""
    y_train = splits.train.arrays()[1]
    y_test = splits.test.arrays()[1]
    return regression_baseline(y_test, np.full_like(y_test, float(np.mean(y_train))))


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> Dict[str, float]:
    values, counts = np.unique(y_train, return_counts=True)
    majority = values[np.argmax(counts)]
    return {"accuracy": float(np.mean(np.asarray(y_test) == majority))}


def majority_class_baseline(splits: Splits) -> Dict[str, float]:
    """The classification `baseline_fn`: the training split's majority class, scored on the test split."""
    return majority_baseline(splits.train.arrays()[1], splits.test.arrays()[1])
