"""`seqlab predict` and `seqlab.load` read new data exactly as training read its file, or refuse it in one line
(issue #28's predict/export cases)."""

import json

import numpy as np
import pandas as pd
import pytest
from test_parity import _fitted, _random_series, _ucr_files
from test_predict import QUIET, train_run

import seqlab
from seqlab.config import ConfigError
from seqlab.data.labels import LabelMap
from seqlab.inference.predict_cli import main, read_texts
from seqlab.inference.predictors import TextPredictor, UcrPredictor


def _dst_series(path, rows=300):
    """A categorical column, and hourly timestamps whose UTC offset changes (+01:00 -> +02:00, DST)."""
    frame = _random_series(path, rows)
    times = pd.date_range("2024-03-25", periods=rows, freq="h", tz="Europe/Berlin")
    frame.insert(0, "time", [t.isoformat() for t in times])
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture(scope="module")
def cat_run(tmp_path_factory):
    """A run trained with dataset.categorical=[site], DST timestamps, target temp (not an input)."""
    tmp = tmp_path_factory.mktemp("cat")
    frame = _dst_series(tmp / "train.csv")
    train_run(tmp / "run", ["dataset=csv", f"dataset.path={tmp / 'train.csv'}", "dataset.time_column=time",
                            "dataset.categorical=[site]", "dataset.input_len=12", "dataset.horizon=3",
                            'dataset.features=[load,"site=east","site=north","site=south"]',
                            "dataset.targets=[temp]", "model=gru", "model.units=4"])
    return tmp, frame


def test_categorical_run_predicts_with_its_stored_categories_and_dst_times(cat_run, tmp_path):
    tmp, frame = cat_run
    frame.tail(50).to_csv(tmp_path / "new.csv", index=False)
    assert main([str(tmp / "run"), str(tmp_path / "new.csv"), "--output", str(tmp_path / "p.csv")]) == 0
    out = pd.read_csv(tmp_path / "p.csv")
    assert len(out) == 3 and out["forecast"].notna().all() and set(out["id"]) == {"temp"}
    assert pd.Timestamp(out["timestamp"].iloc[0]) == pd.Timestamp(frame["time"].iloc[-1]) + pd.Timedelta("1h")
    meta = json.loads((tmp / "run" / "inference.json").read_text())
    assert meta["transforms"]["one_hot"]["categories"] == {"site": ["east", "north", "south"]}


def test_plot_for_a_run_whose_targets_are_not_in_the_input_is_one_line(cat_run, tmp_path, capsys):
    tmp, frame = cat_run
    frame.drop(columns=["temp"]).tail(50).to_csv(tmp_path / "new.csv", index=False)
    args = [str(tmp / "run"), str(tmp_path / "new.csv"), "--output", str(tmp_path / "p.csv")]
    assert main(args + ["--plot", str(tmp_path / "p.png")]) == 2
    assert "--plot: expected an input holding the run's targets" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists() and not (tmp_path / "p.csv").exists()
    assert main(args) == 0  # without --plot: the forecast, no metrics


def test_inf_in_the_input_is_refused_like_nan(series_run):
    tmp, frame, _, _ = series_run
    pred = seqlab.load(tmp / "run")
    for bad in (np.inf, -np.inf, np.nan):
        broken = frame.copy()
        broken.loc[broken.index[-1], "a"] = bad
        with pytest.raises(ConfigError, match=r"^INPUT: expected finite numbers in column 'a', got '1 NaN or inf"):
            pred.forecast(broken)


def test_evaluation_runs_in_bounded_batches(series_run, monkeypatch):
    tmp, frame, _, _ = series_run
    pred = seqlab.load(tmp / "run")
    whole = pred.evaluate(frame)
    sizes = []
    predict_model = pred.predict_model
    monkeypatch.setattr(pred, "predict_model", lambda x: sizes.append(len(x)) or predict_model(x))
    pred.CHUNK = 50
    chunked = pred.evaluate(frame)
    assert max(sizes) == 50 and sum(sizes) == whole["windows"] == 400 - 24 - 4 + 1
    for key, value in whole.items():
        assert chunked[key] == pytest.approx(value, rel=1e-6)


def _text_file(path, sep):
    rows = [("A fine, fine film", "pos "), ('quoted; "multi\nline" review', "Neg"), ("dull plot", "neg"),
            ("great acting", "pos")] * 8
    pd.DataFrame(rows, columns=["review", "label"]).to_csv(path, sep=sep, index=False)
    return rows


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_text_input_is_read_in_the_training_files_dialect(tmp_path, sep):
    rows = _text_file(tmp_path / "train.csv", sep)
    _, pred = _fitted(tmp_path, ["dataset=text_csv", f"dataset.path={tmp_path / 'train.csv'}",
                                 "dataset.text_column=review", "dataset.test_fraction=0.25"], TextPredictor)
    assert pred.meta["dialect"]["sep"] == sep and pred.class_names == ["neg", "pos"]  # Neg merged into neg
    _text_file(tmp_path / "new.tsv", sep)
    texts, labels = read_texts(tmp_path / "new.tsv", pred.meta)
    assert texts == [t for t, _ in rows] and len(labels) == len(rows)  # header skipped, one per example
    assert pred.label_ids(labels, "INPUT").tolist() == [1, 0, 0, 1] * 8


def test_text_labels_differing_in_case_are_merged_with_a_warning(caplog):
    labels = LabelMap.fit(["Pos", "pos", "pos", " neg", "NEG "], "r.csv")
    assert labels.class_names == ["neg", "pos"] and "'Pos' -> 'pos'" in caplog.text
    assert labels.ids(["POS", "neg", " Neg"]).tolist() == [1, 0, 0]
    with pytest.raises(ConfigError, match=r"labels among the run's classes, got \['maybe'\]"):
        labels.ids(["maybe"])


def test_labels_written_as_floats_or_with_spaces_are_read_as_training_read_them(tmp_path):
    (train, test), rows, labels = _ucr_files(tmp_path)
    _, pred = _fitted(tmp_path, ["dataset=ucr", f"dataset.train_path={train}", f"dataset.test_path={test}",
                                 "dataset.padding=post"], UcrPredictor)
    assert pred.class_names == [1, 2]
    assert set(pred.label_ids(labels + ["1", "2.0", " 1.0"], "INPUT").tolist()) == {0, 1}


def test_series_of_the_wrong_length_are_refused_without_padding(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("TRAIN", "TEST"):
        pd.DataFrame(np.column_stack([rng.integers(1, 3, 20), rng.normal(size=(20, 10))])).to_csv(
            tmp_path / f"e_{split}.tsv", sep="\t", header=False, index=False)
    _, pred = _fitted(tmp_path, ["dataset=ucr", f"dataset.train_path={tmp_path / 'e_TRAIN.tsv'}",
                                 f"dataset.test_path={tmp_path / 'e_TEST.tsv'}"], UcrPredictor)
    assert pred.encode([rng.normal(size=10)]).shape == (1, 10, 1)
    for bad in ([1.0, 2.0], rng.normal(size=11)):
        with pytest.raises(ConfigError, match=r"10 steps of 1 finite value\(s\) per series \(the run's padding: None"):
            pred.encode([bad])


def test_a_file_path_outside_the_run_directory_is_refused(series_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(series_run[0] / "run", run, ignore=shutil.ignore_patterns("export", "*.tflite"))
    (tmp_path / "secret.txt").write_text("password\n")
    meta = json.loads((run / "inference.json").read_text())
    for crafted in ({**meta, "vocabulary_file": "../secret.txt"},
                    {**meta, "transforms": {"text": {"kind": "text", "vocabulary_file": "/etc/passwd"}}}):
        (run / "inference.json").write_text(json.dumps(crafted))
        with pytest.raises(ConfigError, match="RUN_DIR: expected files inside the run directory"):
            seqlab.load(run)
    from seqlab.inference.export import main as export_main

    assert export_main([str(run), "--format", "saved_model"]) == 2
    assert not (run / "export").exists()


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("text")
    _text_file(tmp / "train.tsv", "\t")
    train_run(tmp / "run", ["dataset=text_csv", f"dataset.path={tmp / 'train.tsv'}", "dataset.text_column=review",
                            "dataset.test_fraction=0.25", "model=lstm", "model.units=4"] + QUIET[:0])
    return tmp


def test_text_run_predicts_one_row_per_example_and_refuses_empty_input(text_run, tmp_path, capsys):
    rows = _text_file(tmp_path / "new.tsv", "\t")
    args = [str(text_run / "run"), str(tmp_path / "new.tsv"), "--output", str(tmp_path / "p.csv")]
    assert main(args) == 0
    out = pd.read_csv(tmp_path / "p.csv")
    assert len(out) == len(rows) and json.loads((tmp_path / "p.metrics.json").read_text())["examples"] == len(rows)
    (tmp_path / "empty.txt").write_text("")
    assert main([str(text_run / "run"), str(tmp_path / "empty.txt"), "--output", str(tmp_path / "e.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "INPUT: expected at least one text" in err


def test_a_run_written_before_transforms_were_saved_predicts_the_same(series_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(series_run[0] / "run", run)
    meta = json.loads((run / "inference.json").read_text())
    del meta["transforms"]  # format 1 as written before: normalization, input_len, horizon only
    (run / "inference.json").write_text(json.dumps(meta))
    frame = series_run[1]
    expected = seqlab.load(series_run[0] / "run").forecast(frame.tail(40), rolling=True)
    pd.testing.assert_frame_equal(seqlab.load(run).forecast(frame.tail(40), rolling=True), expected)
