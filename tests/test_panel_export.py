"""`seqlab export` of a panel run in every format, with the panel's further inputs (series_id for the series
embedding and the per-series scaling, values known ahead for dataset.calendar / dataset.future_columns): each
exported file gives `seqlab predict`'s forecast on the same raw windows."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import QUIET
from test_panel_future import H, L, sales_panel

import seqlab
from seqlab.config import ConfigError, compose
from seqlab.inference.export import FORMATS, export, main, raw_examples
from seqlab.inference.export_lite import litert_runner, model_input_names
from seqlab.train import run

# every panel input at once, and the calendar alone (values known ahead, none of them a column to scale)
RUNS = {"all_inputs": ["dataset.calendar=[hour]", "dataset.future_columns=[price]", "model.series_embedding=2"],
        "calendar_only": ["dataset.calendar=[hour]"]}
NO_ONNX = "tf2onnx and onnxruntime are optional (pip install tf2onnx onnxruntime): the ONNX export is not tested"


def train(tmp_path_factory, name: str):
    tmp = tmp_path_factory.mktemp(name)
    sales_panel().to_csv(tmp / "p.csv", index=False)
    run(compose(["dataset=panel", f"dataset.path={tmp / 'p.csv'}", "dataset.id_column=unique_id",
                 "dataset.time_column=ds", f"dataset.input_len={L}", f"dataset.horizon={H}", "model=linear",
                 "trainer.epochs=1", *RUNS[name]] + QUIET), tmp / "run")
    return tmp / "run"


@pytest.fixture(scope="module")
def all_inputs_run(tmp_path_factory):
    return train(tmp_path_factory, "all_inputs")


def served_forecast(fmt: str, path: str, pred, raw) -> np.ndarray:
    """The forecast in original units that the exported file at `path` gives for the raw (windows, series ids,
    values known ahead): a SavedModel takes them as they are, LiteRT and ONNX the model's own inputs (scaled with
    each series' statistics on the host)."""
    if fmt == "saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(path)  # kept while it serves: its variables die with it
        return np.asarray(loaded.serve(*map(tf.constant, raw))["forecast"])
    x = pred.model_inputs(*raw)
    names = model_input_names(pred)
    args = tuple(x[n] for n in names) if isinstance(x, dict) else (x,)
    if fmt == "litert":
        out = litert_runner(path, names=names)(args if len(args) > 1 else args[0])
    else:
        out = onnx_outputs(path, dict(zip(names, args)))
    return pred.scaler.invert(out, raw[1], pred.targets)


def onnx_outputs(path: str, inputs: dict) -> np.ndarray:
    """The outputs of the ONNX file at `path` through ONNX Runtime, its inputs by name."""
    import onnxruntime

    session = onnxruntime.InferenceSession(path)
    given = {i.name.split(":")[0]: i.name for i in session.get_inputs()}  # tf2onnx may add ":0"
    return session.run(None, {given[n]: v for n, v in inputs.items()})[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_serves_the_panel_inputs(fmt, all_inputs_run):
    check_format(fmt, all_inputs_run)


def test_the_calendar_alone_is_served(tmp_path_factory):  # values known ahead, none of them a column to scale
    check_format("saved_model", train(tmp_path_factory, "calendar_only"))


def check_format(fmt: str, panel_run):
    if fmt == "onnx":
        pytest.importorskip("tf2onnx", reason=NO_ONNX)
        pytest.importorskip("onnxruntime", reason=NO_ONNX)
    res = export(panel_run, fmt, tolerance=1e-4)
    assert res["max_abs_diff"] <= 1e-4 and res["examples"] == 3
    pred = seqlab.load(panel_run)
    raw, _ = raw_examples(pred)  # (windows, series ids, values known ahead), raw as a user sends them
    assert [v.shape for v in raw] == [(3, L, 4), (3,), (3, H, len(pred.known.future_names))]  # y, price, hour
    want = pred.predict(*raw)  # what `seqlab predict` gives on these windows, (3, H, 1) in original units
    got = served_forecast(fmt, res["path"], pred, raw)
    assert got.shape == want.shape and np.ptp(want) > 1  # original units: the series' levels are 7 to 27
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_onnx_without_its_packages_is_refused_naming_the_choices(all_inputs_run, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import fails as if it were not installed
    with pytest.raises(ConfigError, match=r"--format: expected tf2onnx and onnxruntime.*got 'onnx'.*saved_model"):
        export(all_inputs_run, "onnx", tmp_path / "m.onnx", tolerance=1e-4)
    assert main([str(all_inputs_run), "--format", "onnx", "--output", str(tmp_path / "m.onnx")]) == 2
    assert not (tmp_path / "m.onnx").exists()
    err = capsys.readouterr().err
    assert "pip install tf2onnx onnxruntime" in err and "Traceback" not in err


def test_no_columns_picks_no_statistics():
    from seqlab.data.transforms import SeriesStandardize

    scaler = SeriesStandardize(["y", "price"], ["a", "b"], np.zeros((2, 2)), np.ones((2, 2)))
    assert scaler.apply(np.zeros((3, H, 0)), np.array([0, 1, 1]), []).shape == (3, H, 0)
    assert scaler.invert(np.zeros((3, H, 2)), np.array([0, 1, 1])).shape == (3, H, 2)  # None: every column
