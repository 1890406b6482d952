"""Panel runs: every built-in model family and both trainers train on a panel (in every layout), `seqlab predict`
gives one forecast per series, `seqlab export` passes its parity check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_panel import H, L, panel_frame, write_layouts
from test_predict import train_run

import seqlab
from seqlab.inference.export import export
from seqlab.inference.predict_cli import main as predict_main

LAYOUTS = {"long": ["dataset.id_column=unique_id", "dataset.time_column=ds"],
           "columns": ["dataset.layout=columns", "dataset.time_column=ds"],
           "rows": ["dataset.layout=rows", "dataset.test_path={test}"]}
# (model, trainer, layout): each family once, both trainers, every layout; two in the fast tier
CASES = [pytest.param("simplernn", "fit", "long", marks=pytest.mark.slow),  # lstm: model.norm=revin on top
         pytest.param("lstm", "tape", "columns", marks=pytest.mark.slow), ("gru", "fit", "rows"),
         ("conv1d", "tape", "long"), pytest.param("linear", "fit", "columns", marks=pytest.mark.slow)]


@pytest.mark.parametrize("model,trainer,layout", CASES)
def test_every_family_trains_and_predicts_on_a_panel(model, trainer, layout, tmp_path):
    files = write_layouts(tmp_path, panel_frame())
    path = files[{"long": "long", "columns": "wide", "rows": "train"}[layout]]
    over = [o.format(test=files["test"]) for o in LAYOUTS[layout]]
    result, splits, spec = train_run(tmp_path / "run", ["dataset=panel", f"dataset.path={path}",
                                                         f"dataset.input_len={L}", f"dataset.horizon={H}",
                                                         f"model={model}", f"trainer={trainer}",
                                                         "trainer.epochs=1"] + over
                                     + (["model.norm=revin"] if model == "lstm" else []))
    assert np.isfinite(result.metrics["test"]["mse"]) and len(splits.test) == 4
    out = tmp_path / "pred.csv"
    assert predict_main([str(tmp_path / "run"), str(path), "--output", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["id", "timestamp", "step", "forecast"]
    assert table["id"].tolist() == [f"s{k}" for k in range(4) for _ in range(H)]
    # the same forecast as the model on each series' last window, scaled with that series' own statistics
    pred = seqlab.load(tmp_path / "run")
    scaler = pred.scaler
    x_last, _ = splits.test.arrays()
    panel = splits.test.panel
    # the input's last window: each series' end; the rows layout's training file ends before the H test values
    starts = panel.offsets[1:] - L - (H if layout == "rows" else 0)
    z = splits.test.inputs[starts[:, None] + np.arange(L)]  # (series, L, features) scaled
    expected = scaler.invert(result.model.predict(z, verbose=0), np.arange(4), ["y"])
    np.testing.assert_allclose(table["forecast"].to_numpy(), expected.reshape(-1), rtol=1e-4, atol=1e-4)
    assert x_last.shape == (4, L, spec.input_shape[1])
    if layout == "long":  # the next days after each series' own last day
        last = panel_frame().groupby("unique_id")["ds"].max()
        assert pd.Timestamp(table["timestamp"].iloc[0]) == last["s0"] + pd.Timedelta(days=1)
    if model == "gru":
        res = export(tmp_path / "run", "saved_model", tolerance=1e-4)
        assert res["max_abs_diff"] <= 1e-4 and res["examples"] == 4


def test_predict_refuses_unknown_series(tmp_path):
    files = write_layouts(tmp_path, panel_frame())
    train_run(tmp_path / "run", ["dataset=panel", f"dataset.path={files['long']}", f"dataset.input_len={L}",
                                 f"dataset.horizon={H}", "dataset.id_column=unique_id", "model=linear",
                                 "trainer.epochs=1"])
    frame = pd.read_csv(files["long"])
    frame.loc[frame["unique_id"] == "s2", "unique_id"] = "new"
    frame.to_csv(tmp_path / "new.csv", index=False)
    assert predict_main([str(tmp_path / "run"), str(tmp_path / "new.csv"), "--output",
                         str(tmp_path / "p.csv")]) == 2
