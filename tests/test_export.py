"""`seqlab export`: SavedModel (raw inputs, no seqlab needed to serve) and LiteRT, each at parity with Keras."""

import subprocess
import sys

import numpy as np
import pytest
from test_predict import train_run

from seqlab.inference.export import export


@pytest.fixture(scope="module")
def gru_run(series_run):
    """The etth1_gru layout in small: last-value norm, channel-independent, patches, a GRU (the session's run)."""
    return series_run[0] / "run"


@pytest.mark.parametrize("fmt", ["saved_model", pytest.param("litert", marks=pytest.mark.slow)])  # LiteRT converts
def test_series_export_parity(gru_run, fmt):
    res = export(gru_run, fmt)
    assert res["max_abs_diff"] <= 1e-4, res
    assert res["bytes"] > 1000 and res["latency_ms"] > 0 and res["examples"] > 0


@pytest.mark.slow
def test_saved_model_serves_raw_series_without_seqlab(gru_run):
    export(gru_run, "saved_model")
    code = f"""
import sys, numpy as np, tensorflow as tf
m = tf.saved_model.load({str(gru_run / 'export' / 'saved_model')!r})
out = m.signatures['serving_default'](series=tf.constant(np.full((2, 24, 2), 3.0, np.float32)))
assert 'seqlab' not in sys.modules
print(tuple(out['forecast'].shape))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().endswith("(2, 4, 2)")


@pytest.fixture(scope="module")
def text_lstm_run(tmp_path_factory):
    """One text LSTM run for both formats (slow tests only)."""
    run_dir = tmp_path_factory.mktemp("text_lstm") / "run"
    train_run(run_dir, ["dataset=text_synth", "dataset.train_size=256", "dataset.val_size=64", "dataset.test_size=64",
                        "model=lstm", "model.units=8"])
    return run_dir


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["saved_model", "litert"])
def test_text_lstm_export_parity(text_lstm_run, fmt):
    res = export(text_lstm_run, fmt)
    assert res["max_abs_diff"] <= 1e-4, res


@pytest.fixture(scope="module")
def pmf_run(tmp_path_factory):
    """The etth1_segrnn layout in small (patch embedding, the parallel decoder reusing its GRU, MAE loss), trained
    once for both formats (slow tests only)."""
    from test_predict import SERIES, series_csv

    tmp = tmp_path_factory.mktemp("pmf")
    series_csv(tmp / "train.csv")
    train_run(tmp / "run", SERIES + [f"dataset.path={tmp / 'train.csv'}", "model=gru", "model.units=8",
                                     "model.norm=last", "model.channel_independent=true", "model.patch=2",
                                     "model.patch_embedding=true", "model.decoder=pmf", "trainer.loss=mae"])
    return tmp / "run"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["saved_model", "litert"])
def test_pmf_decoder_export_parity(pmf_run, fmt):
    res = export(pmf_run, fmt)
    assert res["max_abs_diff"] <= 1e-4, res


def test_export_cli_prints_size_parity_latency(gru_run, capsys):
    from seqlab.inference.export import main

    assert main([str(gru_run), "--format", "litert", "--output", str(gru_run / "x.tflite")]) == 0
    out = capsys.readouterr().out
    assert "KiB" in out and "max abs diff" in out and "(ok" in out and "latency" in out
    assert np.isfinite(float(out.split("max abs diff ")[1].split()[0]))
