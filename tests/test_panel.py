"""dataset=panel: layouts, splits within each series, per-series scaling, windows that never cross series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.config import ConfigError, compose, validate
from seqlab.data import load
from seqlab.data.panel import PanelConfig, build_panel
from seqlab.data.panel_read import RawPanel

L, H = 6, 3


def panel_frame(lengths=(30, 24, 40, 19), seed: int = 0) -> pd.DataFrame:
    """Long format: series s0.. of the given lengths, each starting on its own day, y = 100*k + step (+ x noise)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, n in enumerate(lengths):
        parts.append(pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range(f"2024-01-{1 + 2 * k:02d}", periods=n,
                                                                              freq="D"),
                                   "y": 100.0 * k + np.arange(n) + rng.normal(0, 0.1, n), "x": rng.normal(size=n)}))
    return pd.concat(parts, ignore_index=True)


def write_layouts(tmp: Path, frame: pd.DataFrame) -> dict:
    """The same series (y only) as a long file, a wide file (one column each) and M4-style train/test row files."""
    long = frame.drop(columns=["x"]).sample(frac=1.0, random_state=1)  # any row order: sorted by id and time
    long.to_csv(tmp / "long.csv", index=False)
    wide = frame.pivot(index="ds", columns="unique_id", values="y").reset_index()
    wide.to_csv(tmp / "wide.csv", index=False)
    train, test = [], []
    for sid, g in frame.groupby("unique_id"):
        train.append([sid] + g["y"].tolist()[:-H])
        test.append([sid] + g["y"].tolist()[-H:])
    for name, rows in (("train.csv", train), ("test.csv", test)):
        width = max(map(len, rows))
        pd.DataFrame([r + [None] * (width - len(r)) for r in rows],
                     columns=[f"V{i + 1}" for i in range(width)]).to_csv(tmp / name, index=False)
    return {"long": tmp / "long.csv", "wide": tmp / "wide.csv", "train": tmp / "train.csv", "test": tmp / "test.csv"}


def panel_cfg(path, **kw):
    over = [f"dataset.path={path}", f"dataset.input_len={L}", f"dataset.horizon={H}"]
    over += [f"dataset.{k}={v}" for k, v in kw.items()]
    return compose(["dataset=panel"] + over)


def load_panel_cfg(path, **kw):
    cfg = panel_cfg(path, **kw)
    validate(cfg)  # the checks before TensorFlow
    return load(cfg.dataset)


def test_windows_never_cross_series_and_reach_back(tmp_path):
    frame = panel_frame()
    frame.to_csv(tmp_path / "p.csv", index=False)
    splits, spec = load_panel_cfg(tmp_path / "p.csv", id_column="unique_id", time_column="ds")
    assert spec.input_shape == (L, 2) and spec.output_shape == (H, 1)  # y and the covariate x in, y out
    assert splits.info["series"] == 4 and splits.info["skipped_series"] == 0
    panel = splits.train.panel
    for split in (splits.train, splits.val, splits.test):
        first = split.series_index()
        last_row = split.starts.astype(np.int64) + L + H - 1
        assert np.array_equal(first, panel.series_of(last_row))  # the window's last target row: same series
    lengths = np.array([30, 24, 40, 19])
    # each series: (n - val - test) - L - H + 1 training windows, one validation and one test window (step 1)
    assert len(splits.train) == int(np.sum(lengths - 2 * H - L - H + 1))
    assert np.array_equal(splits.test.series_index(), np.arange(4))
    assert np.array_equal(splits.test.origin(), lengths - H - 1)  # forecast origin: row in its own series
    x, y = splits.test.arrays()
    # y = 100k + step: the test targets are the series' last H steps, the inputs the L rows before (into val)
    raw = splits.artifacts["transforms"]["series_standardize"].invert(y, np.arange(4), ["y"])
    assert np.allclose(raw[:, :, 0], (100.0 * np.arange(4) + lengths - H)[:, None] + np.arange(H), atol=0.5)


def test_scaling_uses_each_series_training_rows_only(tmp_path):
    frame = panel_frame()
    frame.to_csv(tmp_path / "a.csv", index=False)
    changed = frame.copy()
    tail = changed.groupby("unique_id").cumcount(ascending=False) < 2 * H  # each series' val and test rows
    changed.loc[tail, "y"] *= 1000.0
    changed.to_csv(tmp_path / "b.csv", index=False)
    scalers = [load_panel_cfg(tmp_path / f, id_column="unique_id", time_column="ds")[0].artifacts["transforms"]
               ["series_standardize"] for f in ("a.csv", "b.csv")]
    assert np.allclose(scalers[0].mean, scalers[1].mean) and np.allclose(scalers[0].std, scalers[1].std)
    train = frame.groupby("unique_id")["y"].apply(lambda s: s.iloc[: len(s) - 2 * H])
    assert np.allclose(scalers[0].mean[:, 0], train.groupby(level=0).mean().to_numpy())
    assert np.allclose(scalers[0].std[:, 0], train.groupby(level=0).std(ddof=0).to_numpy())


def test_three_layouts_give_the_same_windows(tmp_path):
    files = write_layouts(tmp_path, panel_frame())
    got = [load_panel_cfg(files["long"], id_column="unique_id", time_column="ds")[0],
           load_panel_cfg(files["wide"], layout="columns", time_column="ds")[0],
           load_panel_cfg(files["train"], layout="rows", test_path=files["test"])[0]]
    for other in got[1:]:
        assert other.train.panel.ids == got[0].train.panel.ids == ["s0", "s1", "s2", "s3"]
        for a, b in zip((got[0].train, got[0].val, got[0].test), (other.train, other.val, other.test)):
            assert np.array_equal(a.starts, b.starts)
            assert np.allclose(a.arrays()[0], b.arrays()[0]) and np.allclose(a.arrays()[1], b.arrays()[1])


def test_short_series_skipped_or_refused(tmp_path, caplog):
    frame = panel_frame(lengths=(30, 10, 40))  # 10 < L + H + val + test
    frame.to_csv(tmp_path / "p.csv", index=False)
    splits, _ = load_panel_cfg(tmp_path / "p.csv", id_column="unique_id", time_column="ds")
    assert splits.info["series"] == 2 and splits.info["skipped_ids"] == ["s1"]
    assert "1 of 3 series too short" in caplog.text
    rows = splits.artifacts["panel_rows"]()  # the kept series as read, for `seqlab backtest` (read again)
    assert rows.ids == ["s0", "s2"] and rows.values.dtype == np.float64
    np.testing.assert_array_equal(rows.values[:, 0], frame.loc[frame.unique_id != "s1", "y"].to_numpy())
    with pytest.raises(ConfigError, match=r"dataset\.min_length.*'s1': 10 rows"):
        validate(panel_cfg(tmp_path / "p.csv", id_column="unique_id", time_column="ds", min_length=0))


def test_cutoff_splits_every_series_at_one_timestamp(tmp_path):
    frame = panel_frame(lengths=(30, 30))  # s1 starts two days after s0
    frame.to_csv(tmp_path / "p.csv", index=False)
    splits, _ = load_panel_cfg(tmp_path / "p.csv", id_column="unique_id", time_column="ds", cutoff="2024-01-24")
    # s0 (from Jan 1) has 6 rows after the 24th, s1 (from Jan 3) 8: test windows 6-H+1 and 8-H+1
    assert np.bincount(splits.test.series_index()).tolist() == [4, 6]
    assert np.bincount(splits.val.series_index()).tolist() == [1, 1]


def test_panel_keys_refused_before_tensorflow(tmp_path):
    panel_frame().to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(ConfigError, match=r"dataset\.id_column.*'series'"):
        validate(panel_cfg(tmp_path / "p.csv", id_column="series"))
    with pytest.raises(ConfigError, match=r"dataset\.layout"):
        validate(panel_cfg(tmp_path / "p.csv", layout="wide"))
    with pytest.raises(ConfigError, match=r"dataset\.cutoff"):
        validate(panel_cfg(tmp_path / "p.csv", id_column="unique_id", cutoff="2024-01-20"))  # no time column
    with pytest.raises(ConfigError, match=r"dataset\.val_steps"):
        validate(panel_cfg(tmp_path / "p.csv", id_column="unique_id", val_steps=1))


def test_generated_float32_panel_is_scaled_in_place():
    lengths = np.array([50, 60])
    values = np.arange(110, dtype=np.float32)[:, None]
    raw = RawPanel(["a", "b"], np.array([0, 50, 110]), values, ["y"], 1)
    cfg = compose(["dataset=panel", "dataset.path=x", "dataset.input_len=5", "dataset.horizon=2"]).dataset
    splits, _ = build_panel(raw, cfg, "generated")
    assert splits.train.inputs is values and splits.train.targets is values  # held once
    assert len(splits.train) == int(np.sum(lengths - 4 - 5 - 2 + 1))
    assert PanelConfig().layout == "long"


def test_m4_weekly_loads(shared_datasets):
    train, test = shared_datasets / "M4-Weekly-train.csv.gz", shared_datasets / "M4-Weekly-test.csv.gz"
    if not train.is_file():
        pytest.skip(f"{train} absent")
    splits, spec = load_panel_cfg(train, layout="rows", test_path=test, horizon=13, input_len=52)
    assert splits.info["series"] == 359 and len(splits.test) == 359  # one test window: the 13 test values
    assert spec.output_shape == (13, 1) and splits.train.panel.ids[0] == "W1"


def test_static_columns_are_constant_channels_scaled_across_series(tmp_path):
    frame = panel_frame()
    frame["size"] = frame["unique_id"].map({"s0": 1.0, "s1": 2.0, "s2": 3.0, "s3": 6.0})
    frame.to_csv(tmp_path / "p.csv", index=False)
    splits, spec = load_panel_cfg(tmp_path / "p.csv", id_column="unique_id", time_column="ds",
                                  static_columns="[size]")
    assert spec.feature_names == ("y", "x", "size") and splits.artifacts["panel"]["covariates"] == ["x"]
    x, _ = splits.test.arrays()
    sizes = np.array([1.0, 2.0, 3.0, 6.0])
    assert np.allclose(x[:, :, 2], ((sizes - sizes.mean()) / sizes.std())[:, None])  # not 0: scaled across series
    frame.loc[3, "size"] = 9.0  # no longer constant within s0
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ConfigError, match=r"dataset\.static_columns.*'s0'"):
        validate(panel_cfg(tmp_path / "bad.csv", id_column="unique_id", time_column="ds", static_columns="[size]"))
