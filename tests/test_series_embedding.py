"""model.series_embedding: a learned vector per panel series beside the head; trained with both trainers,
refused off a panel, fed by `seqlab predict` and `seqlab export`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET

import seqlab
from seqlab.config import ConfigError, compose, validate
from seqlab.inference.export import export
from seqlab.inference.predict_cli import main as predict_main
from seqlab.train import run

L, H = 8, 4


def drifting_panel(path, n=160, seed=0):
    """Four series of noise around a drift, s0/s2 rising and s1/s3 falling: the per-series scaling and the
    window's last value (model.norm=last) leave the drift's sign to the series' identity."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    parts = [pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range("2024-01-01", periods=n, freq="D"),
                           "y": (0.05 if k % 2 == 0 else -0.05) * t + rng.normal(0, 0.5, n)}) for k in range(4)]
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path


def panel_overrides(path, *extra):
    return ["dataset=panel", f"dataset.path={path}", "dataset.id_column=unique_id", "dataset.time_column=ds",
            f"dataset.input_len={L}", f"dataset.horizon={H}", "model.series_embedding=3", *extra]


def test_refused_off_a_panel_before_tensorflow():
    with pytest.raises(ConfigError, match=r"model.series_embedding.*dataset=sine"):
        validate(compose(["dataset=sine", "model=linear", "model.series_embedding=4"]))
    with pytest.raises(ConfigError, match="model.series_embedding"):
        validate(compose(["dataset=sine", "model=linear", "model.series_embedding=-1"]))


def test_panel_windows_give_their_series_id(tmp_path):
    from seqlab import data

    cfg = compose(panel_overrides(drifting_panel(tmp_path / "p.csv"), "model=linear"))
    splits, spec = data.with_series_ids(*data.load(cfg.dataset))
    assert spec.n_series == 4 and "series_id" in spec.input_names()
    x, _ = splits.test.arrays()
    np.testing.assert_array_equal(x["series_id"], splits.test.series_index())
    (xb, _), = splits.test.dataset(batch_size=len(splits.test)).take(1)
    assert xb["series_id"].dtype.name == "int32"
    np.testing.assert_array_equal(xb["series_id"].numpy(), x["series_id"])
    np.testing.assert_allclose(xb["series"].numpy(), x["series"])


@pytest.mark.parametrize("model,trainer", [("linear", "fit"), ("gru", "tape")])
def test_the_series_vector_carries_what_the_scaled_window_cannot(model, trainer, tmp_path):
    path = drifting_panel(tmp_path / "p.csv")
    epochs = 30 if model == "linear" else 8
    cfg = compose(panel_overrides(path, f"model={model}", f"trainer={trainer}", "model.norm=last",
                                  f"trainer.epochs={epochs}", "trainer.lr=0.02")
                  + QUIET)
    result = run(cfg, tmp_path / "run")
    net = result.model
    z = np.zeros((4, L, 1), np.float32)  # the same flat scaled window for every series
    out = np.asarray(net.predict({"series": z, "series_id": np.arange(4, dtype=np.int32)}, verbose=0))[..., 0]
    rising, falling = out[[0, 2]].mean(axis=0), out[[1, 3]].mean(axis=0)  # (H,)
    assert (rising[-1] - falling[-1]) > 0.1, (rising, falling)  # the drift's sign, from the id alone
    # predict and export feed each series' id
    pred_csv = tmp_path / "pred.csv"
    assert predict_main([str(tmp_path / "run"), str(path), "--output", str(pred_csv)]) == 0
    table = pd.read_csv(pred_csv)
    predictor = seqlab.load(tmp_path / "run")
    frame = pd.read_csv(path)
    windows = np.stack([g["y"].to_numpy()[-L:, None] for _, g in frame.groupby("unique_id")])
    np.testing.assert_allclose(table["forecast"].to_numpy(),
                               predictor.predict(windows, np.arange(4))[..., 0].reshape(-1), rtol=1e-4, atol=1e-4)
    if model == "linear":
        res = export(tmp_path / "run", "saved_model", tolerance=1e-4)
        assert res["max_abs_diff"] <= 1e-4


@pytest.mark.parametrize("model,extra", [("gru", ["model.channel_independent=true"]),
                                         ("gru", ["model.patch=2", "model.patch_embedding=true",
                                                  "model.decoder=pmf", "model.channel_independent=true"]),
                                         ("conv1d", []), ("lstm", ["model.quantiles=[0.1,0.5,0.9]"])])
def test_every_head_row_gets_its_series_vector(model, extra):
    from seqlab import models
    from seqlab.spec import DataSpec

    cfg = compose(["dataset=sine", f"model={model}", "model.series_embedding=2", *extra])
    spec = DataSpec(name="panel", task="regression", input_shape=(L, 2), output_shape=(H, 2), n_series=3,
                    feature_names=("a", "b"), target_names=("a", "b"))
    net = models.build(cfg.model, cfg.regularizer, spec)
    z = np.zeros((3, L, 2), np.float32)  # the same window, three series
    out = np.asarray(net({"series": z, "series_id": np.arange(3, dtype=np.int32)}))
    assert out.shape[:3] == (3, H, 2) and not np.allclose(out[0], out[1])
