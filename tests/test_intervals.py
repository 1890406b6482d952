"""Prediction intervals on numpy arrays: conformal coverage, the interval scores, the saved offsets."""

import numpy as np
import pytest

from seqlab import scores
from seqlab.data.fitted import from_states, states
from seqlab.data.intervals import Intervals, conformal_quantile, quantile_pair


@pytest.mark.parametrize("level", [80, 95])
def test_split_conformal_covers_nominal_over_10k_windows(level):
    """Calibrated on 500 windows of heavy-tailed residuals, the interval covers 10k new windows within 2 points of
    nominal at every horizon step (coverage averaged over 20 calibrations, so the test measures the method)."""
    rng = np.random.default_rng(0)
    horizon, covered = 3, []
    for _ in range(20):
        cal_y, cal_f = rng.standard_t(3, (500, horizon, 1)) * np.arange(1, horizon + 1)[:, None], np.zeros((500,
                                                                                                          horizon, 1))
        fitted = Intervals.fit(cal_f, cal_y, [level])
        y = rng.standard_t(3, (10_000, horizon, 1)) * np.arange(1, horizon + 1)[:, None]
        lo, hi = fitted.bounds(np.zeros_like(y))[level]
        covered.append(((y >= lo) & (y <= hi)).mean(axis=(0, 2)))
    per_step = 100 * np.mean(covered, axis=0)
    assert np.all(np.abs(per_step - level) <= 2), per_step
    assert fitted.offsets[level][2, 0] > fitted.offsets[level][0, 0]  # per step: wider where residuals are


def test_cqr_corrects_too_narrow_quantiles():
    """Quantiles half as wide as they should be: conformalized (CQR) they cover 80% again; uncorrected they do not."""
    rng = np.random.default_rng(1)
    sd = 2.0
    z = 1.2815515655446004  # the normal's 90% quantile
    quantiles = [0.1, 0.5, 0.9]
    out = np.stack([-z * sd / 2 * np.ones((2000, 1, 1)), np.zeros((2000, 1, 1)), z * sd / 2 * np.ones((2000, 1, 1))],
                   axis=-1)
    fitted = Intervals.fit(out, rng.normal(0, sd, (2000, 1, 1)), [80], quantiles)
    y = rng.normal(0, sd, (10_000, 1, 1))
    lo, hi = fitted.bounds(np.repeat(out[:1], 10_000, axis=0))[80]
    assert fitted.method == "cqr" and fitted.offsets[80][0, 0] > 0
    assert abs(100 * scores.coverage(y, lo, hi) - 80) <= 2
    assert 100 * scores.coverage(y, out[0, ..., 0], out[0, ..., 2]) < 60


def test_finite_sample_rank():
    """The ceil((n + 1) * level)-th smallest: 9 scores 1..9 at 80% -> the 8th; too few for 95% -> the largest."""
    s = np.arange(1, 10, dtype=float)[:, None]
    assert conformal_quantile(s, 0.8)[0] == 8
    assert conformal_quantile(np.arange(1, 11, dtype=float)[:, None], 0.8)[0] == 9  # (n + 1), not n: 8.8 -> 9th
    assert conformal_quantile(s, 0.95)[0] == 9
    assert quantile_pair([0.05, 0.1, 0.5, 0.9, 0.95], 0.8) == (1, 3)
    assert quantile_pair([0.1, 0.5, 0.9], 0.95) == (0, 2)  # the nearest pair when the exact tails are missing


def test_intervals_saved_and_loaded_as_a_fitted_transform():
    fitted = Intervals.fit(np.zeros((10, 2, 1)), np.arange(20.0).reshape(10, 2, 1), [80, 95])
    back = from_states(states({"intervals": fitted}))["intervals"]
    out = np.ones((3, 2, 1))
    for level in (80, 95):
        np.testing.assert_array_equal(back.bounds(out)[level][0], fitted.bounds(out)[level][0])
    assert back.method == "split" and back.windows == 10


def test_interval_scores_by_hand():
    y, lo, hi = np.array([0.0, 5.0, -3.0]), np.array([-1.0, -1.0, -1.0]), np.array([1.0, 1.0, 1.0])
    assert scores.coverage(y, lo, hi) == pytest.approx(1 / 3)
    assert scores.mean_width(lo, hi) == 2.0
    # widths 2 + 2/0.05 * (0, 4, 2) = 2, 162, 82 -> mean 82, over scale 2
    assert scores.msis(y, lo, hi, 0.05, 2.0) == pytest.approx(41.0)
    q = np.array([[-1.0, 0.0, 1.0]])  # quantiles 0.1 0.5 0.9 of y = 2: losses 0.3, 1.0, 0.9
    assert scores.scaled_pinball(np.array([2.0]), q, [0.1, 0.5, 0.9], 1.0) == pytest.approx(2.2 / 3)
    assert scores.median_index([0.1, 0.5, 0.9]) == 1 and scores.median_index([0.2, 0.4, 0.7]) == 1


def test_interval_scores_sort_lowest_first():
    from seqlab.config.metric import metric_direction

    assert metric_direction("test.msis_95") == metric_direction("test.scaled_pinball") == "min"
    assert metric_direction("test.coverage_80") is None  # closest to the level is best, not highest


def test_a_quantile_model_scores_its_own_pairs_before_calibration():
    """coverage_raw_80 / width_raw_80 for the head's (0.1, 0.9) pair, with or without trainer.intervals; a pair
    without its mirror (0.3 without 0.7) gives none."""
    from seqlab.data.base import ArraySplit
    from seqlab.train.intervals import interval_scores

    rng = np.random.default_rng(0)
    y = rng.normal(size=(200, 3, 1))
    out = np.stack([np.full_like(y, -1.0), np.zeros_like(y), np.full_like(y, 0.5), np.full_like(y, 1.0)], -1)
    quantiles = [0.1, 0.3, 0.5, 0.9]
    res = interval_scores(ArraySplit(y[:, :1], y), out, None, quantiles, None)
    assert res["coverage_raw_80"] == pytest.approx(np.mean((y >= -1) & (y <= 1)))
    assert res["width_raw_80"] == pytest.approx(2.0)
    assert not any(k.startswith("coverage_") and k != "coverage_raw_80" for k in res)  # no 40 from (0.3, ?)
    fitted = Intervals.fit(out, y, [80], quantiles)
    both = interval_scores(ArraySplit(y[:, :1], y), out, fitted, quantiles, None)
    assert both["coverage_raw_80"] == res["coverage_raw_80"] and "coverage_80" in both
