"""seqlab.scores: season inference, the seasonal scale, sMAPE and MASE against hand-computed values and against the
M4 competition's own published Naive figures for M4 Weekly."""

import datetime as dt
import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from seqlab import scores


@pytest.mark.parametrize("step, season", [
    (dt.timedelta(hours=1), 24), (np.timedelta64(1, "h"), 24), (3600, 24), ("h", 24), ("1h", 24),
    (dt.timedelta(days=1), 7), (np.timedelta64(86400, "s"), 7), ("D", 7), ("daily", 7),
    (dt.timedelta(weeks=1), 1), (dt.timedelta(minutes=15), 1), (None, 1), ("W", 1), (3600.5, 1)])
def test_infer_season(step, season):
    assert scores.infer_season(step) == season


def test_infer_season_pandas_timedelta():
    import pandas as pd

    assert scores.infer_season(pd.Timedelta("1h")) == 24
    assert scores.infer_season(pd.Timedelta("7D")) == 1


def test_seasonal_scale_by_hand():
    y = [1.0, 3.0, 2.0, 6.0, 4.0]
    # season 1: |3-1|, |2-3|, |6-2|, |4-6| = 2, 1, 4, 2 -> 9/4
    assert scores.seasonal_scale(y, 1) == pytest.approx(9 / 4)
    # season 2: |2-1|, |6-3|, |4-2| = 1, 3, 2 -> 2
    assert scores.seasonal_scale(y, 2) == pytest.approx(2.0)
    # shorter than season + 1: falls back to season 1
    assert scores.seasonal_scale(y, 5) == pytest.approx(9 / 4)
    assert scores.seasonal_scale(y, 24) == pytest.approx(9 / 4)
    assert scores.seasonal_scale([5.0], 1) is None
    assert scores.seasonal_scale([2.0, 2.0, 2.0], 1) == 0.0


def test_smape_by_hand():
    # 200*|1-2|/3 = 66.67, 200*0/4 = 0, 0/0 -> 0: mean 22.22
    assert scores.smape([1.0, 2.0, 0.0], [2.0, 2.0, 0.0]) == pytest.approx(200 / 9)
    # opposite signs: |y| + |f| in the denominator, so the maximum is 200
    assert scores.smape([1.0], [-1.0]) == pytest.approx(200.0)
    assert scores.smape([4.0], [0.0]) == pytest.approx(200.0)


def test_mase_by_hand_and_zero_scale():
    y, f = np.array([10.0, 12.0]), np.array([11.0, 9.0])
    assert scores.mase(y, f, 2.0) == pytest.approx((1 + 3) / 2 / 2.0)
    assert scores.mase(y, f, 0.0) is None  # a constant training series: reported, not divided by
    assert scores.mase(y, f, None) is None


def test_seasonal_naive_repeats_the_last_season():
    np.testing.assert_array_equal(scores.seasonal_naive([1, 2, 3, 4, 5], 3, 7), [3, 4, 5, 3, 4, 5, 3])
    np.testing.assert_array_equal(scores.seasonal_naive([1, 2, 3], 1, 3), [3, 3, 3])
    np.testing.assert_array_equal(scores.seasonal_naive([1, 2], 5, 3), [2, 2, 2])  # shorter than a season


def _m4_reference_smape(a, b):
    """The M4 competition's own code (Mcompetitions/M4-methods, ML_benchmarks.py), times 100 as its tables."""
    a, b = np.reshape(a, (-1,)), np.reshape(b, (-1,))
    return 100 * np.mean(2.0 * np.abs(a - b) / (np.abs(a) + np.abs(b))).item()


def _m4_reference_mase(insample, y_test, y_hat_test, freq):
    y_hat_naive = [insample[i - freq] for i in range(freq, len(insample))]
    masep = np.mean(abs(insample[freq:] - np.array(y_hat_naive)))
    return np.mean(abs(y_test - y_hat_test)) / masep


def test_agrees_with_the_m4_reference_code():
    rng = np.random.default_rng(0)
    for freq in (1, 4, 12):
        insample = rng.uniform(50, 150, 60)
        y, f = rng.uniform(50, 150, 13), rng.uniform(50, 150, 13)
        assert scores.smape(y, f) == pytest.approx(_m4_reference_smape(y, f))
        assert scores.mase(y, f, scores.seasonal_scale(insample, freq)) == pytest.approx(
            _m4_reference_mase(insample, y, f, freq))


def _rows(path: Path):
    with gzip.open(path, "rt") as fh:
        next(fh)
        for line in fh:
            cells = line.rstrip("\n").split(",")
            yield np.array([float(c.strip('"')) for c in cells[1:] if c.strip('"')])


def test_m4_weekly_naive_matches_the_competition_table():
    """Naive on M4 Weekly: the competition's published sMAPE 9.161 and MASE 2.777 (season 1)."""
    root = Path(os.environ.get("SEQLAB_DATA_DIR", Path(__file__).parents[2] / "shared" / "datasets"))
    train, test = root / "M4-Weekly-train.csv.gz", root / "M4-Weekly-test.csv.gz"
    if not (train.exists() and test.exists()):
        pytest.skip(f"M4 Weekly files not under {root}")
    s, m = [], []
    for insample, actual in zip(_rows(train), _rows(test)):
        forecast = scores.seasonal_naive(insample, scores.infer_season(dt.timedelta(weeks=1)), len(actual))
        s.append(scores.smape(actual, forecast))
        m.append(scores.mase(actual, forecast, scores.seasonal_scale(insample, 1)))
    assert len(s) == 359
    assert np.mean(s) == pytest.approx(9.161, abs=5e-4)
    assert np.mean(m) == pytest.approx(2.777, abs=5e-4)
