"""One preprocessing path: for random raw inputs, the arrays training feeds the model and the arrays predict feeds it
agree (the fitted transforms saved with the run, loaded back from inference.json); exported models agree with
predict; `seqlab predict` on a run's own test rows reproduces its metrics.json."""

import json

import numpy as np
import pandas as pd
import pytest

import seqlab
from seqlab import data
from seqlab.config import compose
from seqlab.inference.artifacts import read_inference, write_artifacts
from seqlab.inference.forecast import SeriesPredictor
from seqlab.inference.predictors import TextPredictor, UcrPredictor

WORDS = ["Good", "bad", "film", "plot", "NOT", "great!", "awful,", "the", "<br />", "zebra", "quite", "it's"]


def _fitted(tmp_path, overrides, kind):
    """(splits, predictor without a model): the loader's splits, and the transforms as predict loads them."""
    cfg = compose(overrides)
    splits, spec = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_artifacts(run_dir, cfg, splits, spec)
    return splits, kind(None, read_inference(run_dir), run_dir)


def _random_series(path, rows=300, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"site": rng.choice(["north", "south", "east"], rows),
                          "load": rng.normal(50, 20, rows).cumsum(), "temp": rng.lognormal(1, 2, rows)})
    frame.to_csv(path, index=False)
    return frame


def test_series_training_and_predict_feed_the_same_arrays(tmp_path):
    frame = _random_series(tmp_path / "s.csv")
    splits, pred = _fitted(tmp_path, ["dataset=csv", f"dataset.path={tmp_path / 's.csv'}", "dataset.input_len=12",
                                      "dataset.horizon=3", "dataset.categorical=[site]"], SeriesPredictor)
    assert "one_hot" in pred.transforms and pred.features[:3] == ["site=east", "site=north", "site=south"]
    x_raw, y_raw, _ = pred.columns(frame)
    for split in (splits.train, splits.test):
        x, y = split.arrays()
        np.testing.assert_allclose(pred.model_inputs(pred.windows.inputs(x_raw, split.starts)), x, atol=1e-6)
        z = pred.scaler.apply(pred.windows.targets(y_raw, split.starts), pred.targets)
        np.testing.assert_allclose(z, y, atol=1e-6)


def _sorted_rows(*arrays):
    """Rows of arrays (same length) in one canonical order, so differently shuffled splits compare."""
    flat = np.column_stack([np.asarray(a, np.float64).reshape(len(a), -1) for a in arrays])
    return flat[np.lexsort(np.round(flat, 5).T[::-1])]


def _ucr_files(tmp_path, n=40, seed=0):
    """UCR files of random unequal lengths (padding needed) and labels written 1.0/2.0."""
    rng = np.random.default_rng(seed)
    paths = []
    for split in ("TRAIN", "TEST"):
        lines, rows, labels = [], [], []
        for _ in range(n):
            label, row = float(rng.integers(1, 3)), rng.normal(5, 3, int(rng.integers(8, 20)))
            lines.append("\t".join([f"{label:.1f}"] + [repr(float(v)) for v in row]))
            rows.append(row)
            labels.append(f"{label:.1f} ")
        paths.append(tmp_path / f"r_{split}.tsv")
        paths[-1].write_text("\n".join(lines) + "\n")
    return paths, rows, labels  # the test file's raw rows and labels


def test_ucr_training_and_predict_feed_the_same_arrays(tmp_path):
    (train, test), rows, labels = _ucr_files(tmp_path)
    splits, pred = _fitted(tmp_path, ["dataset=ucr", f"dataset.train_path={train}", f"dataset.test_path={test}",
                                      "dataset.padding=pre"], UcrPredictor)
    x, y = splits.test.arrays()
    np.testing.assert_allclose(_sorted_rows(pred.encode(rows), pred.label_ids(labels, "labels")),
                               _sorted_rows(x, y), atol=1e-6)


def test_text_training_and_predict_feed_the_same_arrays(tmp_path):
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, int(rng.integers(1, 30)))) for _ in range(120)]
    labels = [str(v) for v in rng.choice(["pos", "neg", " pos"], 120)]
    split = ["test" if i % 4 == 0 else "train" for i in range(120)]
    pd.DataFrame({"text": texts, "label": labels, "split": split}).to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    splits, pred = _fitted(tmp_path, ["dataset=text_csv", f"dataset.path={tmp_path / 't.tsv'}",
                                      "dataset.split_column=split", "dataset.sequence_length=8",
                                      "dataset.eval_sequence_length=12", "dataset.truncate=pre",
                                      "dataset.max_tokens=8"], TextPredictor)
    test = [i for i in range(120) if split[i] == "test"]
    x, y = splits.test.arrays()
    ids = pred.encode([texts[i] for i in test])
    assert ids.shape[1] == 12 and (ids == 1).any()  # unknown words are in the sample
    np.testing.assert_array_equal(_sorted_rows(ids, pred.label_ids([labels[i] for i in test], "labels")),
                                  _sorted_rows(x, y))


def test_series_saved_model_agrees_with_predict_on_random_raw_windows(series_run):
    from seqlab.inference.export import export_saved_model

    tmp, _, _, _ = series_run
    pred = seqlab.load(tmp / "run")
    raw = np.random.default_rng(1).normal(pred.x_mean, 3 * pred.x_std, (16, pred.input_len, len(pred.features)))
    serve = export_saved_model(pred, tmp / "parity_saved_model")
    import tensorflow as tf

    loaded = tf.saved_model.load(str(tmp / "parity_saved_model"))
    forecast = np.asarray(loaded.serve(tf.constant(raw.astype(np.float32)))["forecast"])
    np.testing.assert_allclose(forecast, pred.predict(raw), atol=1e-4 * max(1.0, float(np.abs(pred.y_std).max())))
    assert serve is not None


def test_predict_on_the_runs_own_test_rows_gives_its_test_metrics(series_run, tmp_path):
    """series_run: 400 rows, split 0.7/0.15; test windows own rows [340, 400), their inputs reach back 24 rows."""
    from seqlab.inference.predict_cli import main

    tmp, frame, _, _ = series_run
    frame.iloc[340 - 24:].to_csv(tmp_path / "test_rows.csv", index=False)
    assert main([str(tmp / "run"), str(tmp_path / "test_rows.csv"), "--output", str(tmp_path / "p.csv")]) == 0
    got = json.loads((tmp_path / "p.metrics.json").read_text())
    want = json.loads((tmp / "run" / "metrics.json").read_text())
    assert got["windows"] == want["examples"]["test"]
    assert got["mse"] == pytest.approx(want["test"]["mse"], rel=1e-5)
    assert got["mae"] == pytest.approx(want["test"]["mae"], rel=1e-5)
    assert got["mse_original"] == pytest.approx(want["test_original_units"]["mse"], rel=1e-5)


def _served(pred, fmt, path, raw):
    """Outputs of the exported model on raw inputs: SavedModel `serve` on the batch; LiteRT one example a call
    (text: the token ids predict computes, as a device vectorises with vocabulary.txt)."""
    from seqlab.inference.export import export_litert, export_saved_model

    if fmt == "saved_model":
        export_saved_model(pred, path)
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))  # kept referenced while serving (it owns the variables)
        return np.asarray(loaded.serve(tf.constant(raw))["probabilities"])
    run = export_litert(pred, path)
    inputs = pred.encode(list(raw)) if pred.meta["kind"] == "text" else raw
    return pred.probabilities(run(inputs))


@pytest.mark.slow
def test_series_litert_agrees_with_predict_on_random_raw_windows(series_run, tmp_path):
    from seqlab.inference.export import export_litert

    pred = seqlab.load(series_run[0] / "run")
    raw = np.random.default_rng(3).normal(pred.x_mean, 3 * pred.x_std, (8, pred.input_len, len(pred.features)))
    run = export_litert(pred, tmp_path / "m.tflite")  # the model's outputs on the training scale
    np.testing.assert_allclose(pred.scaler.invert(run(raw.astype(np.float32)), pred.targets), pred.predict(raw),
                               atol=1e-4 * max(1.0, float(np.abs(pred.y_std).max())))


def _texts():
    """The labelled texts (and the generator they leave behind, for the raw texts after them)."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, int(rng.integers(1, 20)))) for _ in range(160)]
    frame = pd.DataFrame({"text": texts, "label": [("pos" if "Good" in t else "neg") for t in texts],
                          "split": ["test" if i % 4 == 0 else "train" for i in range(160)]})
    return frame, rng


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """One text run for both formats: its folder (the run is folder / "run")."""
    from test_predict import train_run

    tmp = tmp_path_factory.mktemp("text")
    _texts()[0].to_csv(tmp / "t.tsv", sep="\t", index=False)
    train_run(tmp / "run", ["dataset=text_csv", f"dataset.path={tmp / 't.tsv'}", "dataset.split_column=split",
                            "dataset.sequence_length=12", "model=lstm", "model.units=4"])
    return tmp


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["saved_model", "litert"])
def test_text_exports_agree_with_predict_and_predict_reproduces_test_metrics(text_run, tmp_path, fmt):
    from seqlab.inference.predict_cli import main

    frame, rng = _texts()
    pred = seqlab.load(text_run / "run")
    raw = np.array([" ".join(rng.choice(WORDS + ["unseen"], int(rng.integers(1, 30)))) for _ in range(8)], object)
    np.testing.assert_allclose(_served(pred, fmt, tmp_path / f"m_{fmt}", raw), pred.predict_proba(list(raw)),
                               atol=1e-4)
    frame[frame["split"] == "test"].drop(columns="split").to_csv(tmp_path / "test.tsv", sep="\t", index=False)
    assert main([str(text_run / "run"), str(tmp_path / "test.tsv"), "--output", str(tmp_path / "p.csv")]) == 0
    got = json.loads((tmp_path / "p.metrics.json").read_text())
    want = json.loads((text_run / "run" / "metrics.json").read_text())
    assert got["examples"] == want["examples"]["test"] == 40
    assert got["accuracy"] == pytest.approx(want["test"]["accuracy"], abs=1e-6)


@pytest.fixture(scope="module")
def ucr_run(tmp_path_factory):
    """One padded UCR run for both formats: (its folder, the test file); the run is folder / "run"."""
    from test_predict import train_run

    tmp = tmp_path_factory.mktemp("ucr")
    (train, test), _, _ = _ucr_files(tmp, n=40)
    train_run(tmp / "run", ["dataset=ucr", f"dataset.train_path={train}", f"dataset.test_path={test}",
                            "dataset.padding=post", "model=gru", "model.units=4"])
    return tmp, test


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["saved_model", "litert"])
def test_ucr_exports_agree_with_predict_and_predict_reproduces_test_metrics(ucr_run, tmp_path, fmt):
    from seqlab.inference.predict_cli import main

    folder, test = ucr_run
    pred = seqlab.load(folder / "run")
    rng = np.random.default_rng(2)
    rows = [rng.normal(5, 3, int(rng.integers(3, pred.transforms["pad_series"].length + 1))) for _ in range(8)]
    raw = np.full((8, pred.transforms["pad_series"].length, 1), np.nan, np.float32)  # NaN where padding goes
    for i, r in enumerate(rows):
        raw[i, : len(r), 0] = r
    np.testing.assert_allclose(_served(pred, fmt, tmp_path / f"m_{fmt}", raw), pred.predict_proba(rows), atol=1e-4)
    assert main([str(folder / "run"), str(test), "--output", str(tmp_path / "p.csv")]) == 0
    got = json.loads((tmp_path / "p.metrics.json").read_text())
    want = json.loads((folder / "run" / "metrics.json").read_text())
    assert got["examples"] == want["examples"]["test"] == 40
    assert got["accuracy"] == pytest.approx(want["test"]["accuracy"], abs=1e-6)
