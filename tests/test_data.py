"""Data layer: windowing, splits, normalisation, baselines, loaders, downloads and error messages."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.config import ConfigError, compose, validate
from seqlab.data import WindowSplit, download, load, series, text
from seqlab.data.adding import load_adding
from seqlab.data.text import load_imdb, load_text_csv, synth_sentences
from seqlab.data.ucr import load_ucr

ETTH1_CSV_SHA256 = "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"


@pytest.fixture(autouse=True)
def _no_user_dirs(tmp_path, monkeypatch):
    # downloads land in a per-test cache; a developer's SEQLAB_DATA_DIR must not leak into the tests
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQLAB_DATA_DIR", raising=False)


def _fmt(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_fmt(x) for x in v) + "]"
    if isinstance(v, (str, Path)):
        return f"'{v}'"
    return str(v)


def dataset_cfg(name: str, **overrides):
    """The `dataset` sub-config exactly as the CLI composes it, with dataset.<key>=<value> overrides."""
    return compose([f"dataset={name}"] + [f"dataset.{k}={_fmt(v)}" for k, v in overrides.items()]).dataset


def write_series(path: Path, rows: int = 100, **columns) -> Path:
    """A CSV with an hourly `time` column, a=row number, b=2*row number, a text column, plus extra columns."""
    frame = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=rows, freq="h").astype(str),
                          "a": np.arange(rows, dtype=float), "b": 2.0 * np.arange(rows),
                          "station": ["x"] * rows, **columns})
    frame.to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- windows and splits
def test_window_starts_follow_the_target_rule():
    # train [0, 60): targets t in [10, 56) -> s = t - 10
    np.testing.assert_array_equal(series.window_starts(0, 60, 10, 5), np.arange(0, 46))
    # val [60, 80): first target row 60, its inputs reach back to row 50 (inside train)
    np.testing.assert_array_equal(series.window_starts(60, 80, 10, 5), np.arange(50, 66))
    np.testing.assert_array_equal(series.window_starts(60, 80, 10, 5, stride=3), np.arange(50, 66, 3))
    assert len(series.window_starts(0, 14, 10, 5)) == 0  # 14 rows < input_len + horizon


def test_csv_windows_reach_back_into_previous_split(tmp_path):
    path = write_series(tmp_path / "s.csv")
    splits, spec = load(dataset_cfg("csv", path=path, time_column="time", boundaries=[60, 80, 100], input_len=10,
                                    horizon=5, normalize=False, targets=["a"]))
    assert [len(s) for s in (splits.train, splits.val, splits.test)] == [46, 16, 16]
    assert spec.input_shape == (10, 2) and spec.output_shape == (5, 1) and spec.task == "regression"
    assert spec.feature_names == ("a", "b") and spec.target_names == ("a",)  # time and text columns excluded
    x, y = splits.val.arrays()
    assert x.dtype == np.float32 and y.dtype == np.float32 and x.shape == (16, 10, 2) and y.shape == (16, 5, 1)
    np.testing.assert_array_equal(x[0, :, 0], np.arange(50, 60))  # inputs from the training rows
    np.testing.assert_array_equal(x[0, :, 1], 2 * np.arange(50, 60))
    np.testing.assert_array_equal(y[0, :, 0], np.arange(60, 65))  # targets start at the split's first row
    xt, yt = splits.test.arrays()
    assert yt[0, 0, 0] == 80 and xt[0, 0, 0] == 70 and yt[-1, -1, 0] == 99
    xtr, ytr = splits.train.arrays()
    assert xtr[0, 0, 0] == 0 and ytr[-1, -1, 0] == 59  # no training target leaks past train_end
    assert splits.info["row_ranges"] == {"train": [0, 60], "val": [60, 80], "test": [80, 100]}
    assert splits.info["time_range"] == ["2020-01-01 00:00:00", "2020-01-05 03:00:00"]
    # hourly rows: the seasonal naive (season 24) on a ramp a errs by 24 at every step; MASE's scale is 24 too
    base = splits.baseline()
    assert {k: base[k] for k in ("mse", "mae", "mase")} == pytest.approx({"mse": 576.0, "mae": 24.0, "mase": 1.0})
    # repeat-last-value (season 1): error at step k is k+1 -> mse = mean((1..5)^2) = 11, mae = 3; scale 1
    splits, _ = load(dataset_cfg("csv", path=path, time_column="time", boundaries=[60, 80, 100], input_len=10,
                                 horizon=5, normalize=False, targets=["a"], season=1))
    base = splits.baseline()
    assert {k: base[k] for k in ("mse", "mae", "mase")} == pytest.approx({"mse": 11.0, "mae": 3.0, "mase": 3.0})


def test_split_fractions_and_stride(tmp_path):
    path = write_series(tmp_path / "s.csv")
    splits, _ = load(dataset_cfg("csv", path=path, split=[0.6, 0.2], input_len=10, horizon=5, stride=2))
    assert splits.info["row_ranges"] == {"train": [0, 60], "val": [60, 80], "test": [80, 100]}
    assert splits.info["windows"] == {"train": 23, "val": 8, "test": 8}


def test_normalisation_uses_training_rows_only(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.normal(3.0, 2.0, (100, 2))
    cfg = dict(boundaries=[60, 80, 100], input_len=10, horizon=5)
    frame = pd.DataFrame({"u": raw[:, 0], "v": raw[:, 1], "flat": 7.0})
    frame.to_csv(tmp_path / "one.csv", index=False)
    frame.loc[60:, "u"] *= 1000.0  # wildly different val/test rows must not move the statistics
    frame.to_csv(tmp_path / "two.csv", index=False)
    one, _ = load(dataset_cfg("csv", path=tmp_path / "one.csv", **cfg))
    two, _ = load(dataset_cfg("csv", path=tmp_path / "two.csv", **cfg))
    stats = one.info["normalization"]
    assert stats["mean"]["u"] == pytest.approx(raw[:60, 0].mean()) and stats["std"]["u"] == pytest.approx(
        raw[:60, 0].std(ddof=0))
    assert stats == two.info["normalization"] and stats["constant_columns"] == ["flat"]
    inputs = one.train.inputs[:60]  # the stored, normalised series
    np.testing.assert_allclose(inputs[:, :2].mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(inputs[:, :2].std(0), 1.0, atol=1e-5)
    assert np.all(inputs[:, 2] == 0.0)  # zero std guarded: no NaN
    np.testing.assert_array_equal(one.train.arrays()[0], two.train.arrays()[0])
    raw_split, _ = load(dataset_cfg("csv", path=tmp_path / "one.csv", normalize=False, **cfg))
    assert "normalization" not in raw_split.info
    np.testing.assert_allclose(raw_split.train.inputs[:, 0], raw[:, 0], rtol=1e-6)


def test_nan_fails_unless_interpolated(tmp_path):
    a = np.arange(100, dtype=float)
    a[[5, 6]] = np.nan
    path = write_series(tmp_path / "gaps.csv", c=a)
    with pytest.raises(ConfigError, match=r"dataset\.interpolate.*2 NaN values in column 'c' of gaps\.csv"):
        load(dataset_cfg("csv", path=path, time_column="time", input_len=10, horizon=5))
    splits, _ = load(dataset_cfg("csv", path=path, input_len=10, horizon=5, interpolate=True, normalize=False))
    assert splits.info["interpolated"] == {"c": 2}
    np.testing.assert_allclose(splits.train.inputs[4:8, 2], [4, 5, 6, 7])


def test_window_dataset_matches_arrays_and_epoch_order():
    rows = np.arange(60, dtype=np.float32)
    split = WindowSplit(rows[:, None], np.stack([rows, -rows], 1), np.arange(0, 40), input_len=8, horizon=3)
    x, y = split.arrays()
    batches = list(split.dataset(batch_size=7))
    assert len(batches) == split.steps(7) == 6
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)

    def epochs(seed, first, last):
        xs = [np.asarray(b[0]) for b in split.dataset(batch_size=16, shuffle_seed=seed, first_epoch=first,
                                                      epochs=last)]
        return np.concatenate(xs)[:, 0, 0].astype(int).reshape(last - first, 40)  # window starts, per epoch

    two = epochs(1, 0, 2)
    assert sorted(two[0]) == sorted(two[1]) == list(range(40)) and not np.array_equal(two[0], two[1])
    np.testing.assert_array_equal(epochs(1, 1, 2)[0], two[1])  # resuming at epoch 1 replays its order
    np.testing.assert_array_equal(epochs(1, 0, 1)[0], two[0])
    assert not np.array_equal(epochs(2, 0, 1)[0], two[0])
    xs, ys = next(iter(split.dataset(batch_size=40, shuffle_seed=1)))
    order = np.asarray(xs)[:, 0, 0].astype(int)
    np.testing.assert_array_equal(np.asarray(ys), y[order])


# --------------------------------------------------------------------------- sine, ETT
def test_sine_is_seeded_and_learnable():
    cfg = dataset_cfg("sine")
    splits, spec = load(cfg, seed=0)
    assert spec.input_shape == (48, 2) and spec.output_shape == (12, 2)
    again, _ = load(cfg, seed=0)
    other, _ = load(cfg, seed=1)
    np.testing.assert_array_equal(splits.train.inputs, again.train.inputs)
    json.dumps(splits.info)
    assert not np.array_equal(splits.train.inputs, other.train.inputs)
    # a linear autoregression fitted on train beats repeat-last-value by far: the default is learnable
    x, y = splits.train.arrays()
    xt, yt = splits.test.arrays()
    w = np.linalg.lstsq(np.c_[x.reshape(len(x), -1), np.ones(len(x))], y.reshape(len(y), -1), rcond=None)[0]
    pred = np.c_[xt.reshape(len(xt), -1), np.ones(len(xt))] @ w
    repeat = splits.baseline()["mse"]
    assert np.mean((pred - yt.reshape(len(yt), -1)) ** 2) < 0.2 * repeat and repeat > 0.5


def test_etth1_protocol_and_baselines(shared_datasets):
    splits, spec = load(dataset_cfg("etth1"), data_dir=str(shared_datasets))
    assert spec.input_shape == (336, 7) and spec.output_shape == (96, 7)
    assert [len(s) for s in (splits.train, splits.val, splits.test)] == [8209, 2785, 2785]
    assert splits.test.starts[0] == 11520 - 336 and splits.test.starts[-1] + 336 + 96 == 14400
    base = splits.baseline()
    assert splits.baseline_name == "seasonal naive (season 24)"  # hourly: season 24 inferred
    assert round(base["mse"], 3) == 0.512 and round(base["mae"], 3) == 0.433
    repeat = load(dataset_cfg("etth1", season=1), data_dir=str(shared_datasets))[0]
    assert repeat.baseline_name == "repeat last value"  # the papers' Repeat row with dataset.season=1
    assert round(repeat.baseline()["mse"], 3) == 1.294 and round(repeat.baseline()["mae"], 3) == 0.713
    raw = pd.read_csv(shared_datasets / "ETTh1.csv.gz")["OT"].to_numpy()[:8640]
    assert splits.info["normalization"]["mean"]["OT"] == pytest.approx(raw.mean())
    assert splits.info["normalization"]["std"]["OT"] == pytest.approx(raw.std(ddof=0))
    assert splits.limited(100).baseline() != base  # a limited test split gets its own baseline
    json.dumps(splits.info)  # recorded with the run, so it must be JSON-serialisable


def test_ettm1_loads(shared_datasets):
    splits, _ = load(dataset_cfg("ettm1"), data_dir=str(shared_datasets))
    assert splits.info["windows"] == {"train": 34129, "val": 11425, "test": 11425}
    assert round(splits.baseline()["mse"], 3) == 1.214  # Zeng et al. 2023, Table 2, ETTm1 Repeat at 96


def test_ett_uncompressed_and_download_from_file_url(shared_datasets, tmp_path):
    plain = tmp_path / "elsewhere" / "ETTh1.csv"
    plain.parent.mkdir()
    plain.write_bytes(gzip.decompress((shared_datasets / "ETTh1.csv.gz").read_bytes()))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"dataset\.url"):
        load(dataset_cfg("etth1", url=""), data_dir=str(empty))
    splits, _ = load(dataset_cfg("etth1", url=plain.as_uri(), sha256=ETTH1_CSV_SHA256), data_dir=str(empty))
    assert (tmp_path / "cache" / "ETTh1.csv").is_file() and len(splits.test) == 2785
    splits, _ = load(dataset_cfg("etth1", url=""), data_dir=str(plain.parent))  # the uncompressed name
    assert round(splits.baseline()["mse"], 3) == 0.512  # the same rows as the .gz (seasonal naive, season 24)


# --------------------------------------------------------------------------- adding problem
def test_adding_problem():
    splits, spec = load(dataset_cfg("adding", length=20, train_size=2000, val_size=100, test_size=1000), seed=3)
    assert spec.input_shape == (20, 2) and spec.output_shape == (1,)
    x, y = splits.train.arrays()
    assert x.dtype == np.float32 and y.shape == (2000, 1)
    markers = x[:, :, 1]
    assert np.all(markers.sum(1) == 2) and np.all(markers[:, :10].sum(1) == 1)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * markers).sum(1), rtol=1e-6)
    assert splits.baseline()["mse"] == pytest.approx(1 / 6, abs=0.02)
    json.dumps(splits.info)
    again, _ = load(dataset_cfg("adding", length=20, train_size=2000, val_size=100, test_size=1000), seed=3)
    np.testing.assert_array_equal(again.test.arrays()[0], splits.test.arrays()[0])
    default, _ = load(dataset_cfg("adding"))
    assert default.baseline()["mse"] == pytest.approx(0.167, abs=0.015)
    limited, _ = load(dataset_cfg("adding", limit=10))
    assert len(limited.train) == len(limited.test) == 10
    with pytest.raises(ConfigError, match=r"dataset\.length"):
        load_adding(dataset_cfg("adding", length=1), None, 0)


# --------------------------------------------------------------------------- text
def test_standardize_strips_tags_and_punctuation():
    out = text.standardize(np.array(["Great<br /><br />movie, REALLY! Don't."]))
    assert out.numpy()[0].decode().split() == ["great", "movie", "really", "dont"]


def test_text_synth_needs_word_order():
    texts, labels = synth_sentences(3000, 16, np.random.default_rng(0))
    # identical bags of words occur with both labels
    by_bag = {}
    for t, lab in zip(texts, labels):
        by_bag.setdefault(tuple(sorted(t.split())), set()).add(int(lab))
    assert any(len(v) == 2 for v in by_bag.values())
    vocab = sorted({w for t in texts for w in t.split()})
    bigrams = [("not", w) for w in text.POSITIVE + text.NEGATIVE]

    def features(ts, with_order):
        rows = []
        for t in ts:
            words = t.split()
            row = [Counter(words)[w] for w in vocab]
            if with_order:
                pairs = set(zip(words, words[1:]))
                row += [float(b in pairs) for b in bigrams]
            rows.append(row + [1.0])
        return np.array(rows, dtype=float)

    def accuracy(with_order):  # linear least-squares classifier, fitted on 2000 and scored on 1000
        f = features(texts, with_order)
        w = np.linalg.lstsq(f[:2000], labels[:2000] * 2.0 - 1.0, rcond=None)[0]
        return np.mean((f[2000:] @ w > 0) == (labels[2000:] == 1))

    assert accuracy(False) < 0.6 and accuracy(True) > 0.99


def test_text_synth_loads():
    splits, spec = load(dataset_cfg("text_synth"))
    x, y = splits.train.arrays()
    assert x.shape == (4000, 16) and x.dtype == np.int32 and y.shape == (4000,) and y.dtype == np.int32
    assert spec.task == "binary" and spec.num_classes == 2 and spec.vocab_size == splits.info["vocab_size"] == 35
    assert x.max() < spec.vocab_size and [len(splits.val), len(splits.test)] == [500, 1000]
    assert splits.baseline()["accuracy"] == pytest.approx(0.5, abs=0.05)


def _text_frame(tmp_path, **extra) -> Path:
    # sorted by label, so an unshuffled first-n cut would hold one class only
    labels = ["neg"] * 40 + ["pos"] * 40 + ["meh"] * 40
    frame = pd.DataFrame({"body": [f"NA review {i} is {lab}!" for i, lab in enumerate(labels)], "y": labels,
                          "part": ["train", "train", "test"] * 40, **extra})
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    return path


def test_text_csv_split_column_and_class_mix(tmp_path):
    path = _text_frame(tmp_path)
    cfg = dataset_cfg("text_csv", path=path, text_column="body", label_column="y", split_column="part",
                      val_fraction=0.25, max_tokens=50, sequence_length=8)
    splits, spec = load(cfg)
    assert [len(splits.train), len(splits.val), len(splits.test)] == [60, 20, 40]
    assert spec.task == "multiclass" and spec.num_classes == 3 and spec.input_shape == (8,)
    assert splits.info["class_names"] == ["meh", "neg", "pos"]
    assert "na" in splits.info["vocabulary_head"]  # "NA" is read as text, not as a missing value
    assert len(set(splits.limited(10).train.arrays()[1].tolist())) > 1  # seeded shuffle mixes the classes
    json.dumps(splits.info)
    random_split, _ = load(dataset_cfg("text_csv", path=path, text_column="body", label_column="y",
                                       test_fraction=0.25, val_fraction=0.1))
    assert len(random_split.test) == 30 and len(random_split.train) + len(random_split.val) == 90


@pytest.mark.parametrize("overrides, match", [
    ({"label_column": "nope"}, r"dataset\.label_column.*'nope'.*valid choices: body, y, part, one"),
    ({"text_column": "nope"}, r"dataset\.text_column"),
    ({"split_column": "body"}, r"dataset\.split_column.*train/test"),
    ({"label_column": "one"}, r"dataset\.label_column: expected at least two classes"),
    ({"path": "/no/such.csv"}, r"dataset\.path: expected an existing file"),
])
def test_text_csv_errors(tmp_path, overrides, match):
    path = _text_frame(tmp_path, one=1)
    cfg = dataset_cfg("text_csv", **{"path": path, "text_column": "body", "label_column": "y", **overrides})
    with pytest.raises(ConfigError, match=match):
        load_text_csv(cfg, None, 0)


def test_imdb_from_shared_csv(shared_datasets):
    splits, spec = load(compose(["dataset=imdb", "dataset.limit=200"]).dataset, data_dir=str(shared_datasets))
    x, y = splits.train.arrays()
    assert x.shape == (200, 200) and x.dtype == np.int32 and len(splits.val) == len(splits.test) == 200
    assert spec.task == "binary" and spec.vocab_size == splits.info["vocab_size"] > 1000
    assert set(y.tolist()) == {0, 1} and set(splits.test.arrays()[1].tolist()) == {0, 1}
    assert splits.info["original_sizes"] == {"train": 25000, "test": 25000}
    assert splits.info["class_names"] == ["neg", "pos"] and "br" not in splits.info["vocabulary_head"]


def test_imdb_from_tarball(tmp_path):
    buf = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(buf, "w:gz") as tar:
        for split in ("train", "test"):
            for label, word in (("pos", "great"), ("neg", "awful")):
                for i in range(5):
                    data = f"A {word} film number {i}.<br />Really {word}.".encode()
                    info = tarfile.TarInfo(f"aclImdb/{split}/{label}/{i}_{8 if label == 'pos' else 2}.txt")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("aclImdb/train/unsup/0_0.txt")  # unlabelled reviews are skipped
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    frame = text.read_imdb_tarball(buf)
    assert len(frame) == 20 and list(frame.columns) == ["text", "label", "split"]
    splits, _ = load_imdb(dataset_cfg("imdb", val_fraction=0.2, url=""), str(tmp_path), 0)
    assert [len(splits.train), len(splits.val), len(splits.test)] == [8, 2, 10]
    assert "great" in splits.info["vocabulary_head"] and "br" not in splits.info["vocabulary_head"]


# --------------------------------------------------------------------------- UCR
def _write_tsv(path: Path, rows) -> str:
    path.write_text("".join("\t".join(str(v) for v in row) + "\n" for row in rows))
    return str(path)


def test_ucr_variable_length_padding(tmp_path):
    train = [[1, 1.0, 2.0, 3.0, 4.0], [-1, 5.0, 6.0, "NaN", "NaN"], [1, 0.5, 1.0, 2.0, 1.0],
             [-1, 3.0, 3.0, 3.0, "NaN"], [1, 2.0, 2.0, 2.0, 2.0], [-1, 4.0, 4.0, 4.0, 4.0]]
    test = [[1, 1.0, 2.0, 3.0, 4.0], [-1, 9.0, "NaN", "NaN", "NaN"]]
    paths = dict(train_path=_write_tsv(tmp_path / "T_TRAIN.tsv", train),
                 test_path=_write_tsv(tmp_path / "T_TEST.tsv", test))
    with pytest.raises(ConfigError, match=r"dataset\.padding.*unequal lengths \(1\.\.4\)"):
        load_ucr(dataset_cfg("ucr", **paths), None, 0)
    post, spec = load(dataset_cfg("ucr", padding="post", normalize=False, val_fraction=0.34, **paths))
    assert spec.input_shape == (4, 1) and spec.task == "binary" and post.info["class_names"] == [-1, 1]
    assert [len(post.train), len(post.val), len(post.test)] == [4, 2, 2]
    x, y = post.test.arrays()
    short = x[y == 0][0, :, 0]
    np.testing.assert_array_equal(short, [9, 0, 0, 0])
    json.dumps(post.info)
    pre, _ = load(dataset_cfg("ucr", padding="pre", normalize=False, **paths))
    x, y = pre.test.arrays()
    np.testing.assert_array_equal(x[y == 0][0, :, 0], [0, 0, 0, 9])
    # statistics come from the training rows (after carving validation) and skip the padding
    norm, _ = load(dataset_cfg("ucr", padding="post", val_fraction=0.34, **paths))
    raw_train = post.train.arrays()[0][:, :, 0]
    lengths = (raw_train != 0).sum(1)  # no zero values in the file, so non-zeros are the real values
    raw_values = np.concatenate([r[:n] for r, n in zip(raw_train, lengths)])
    stats = norm.info["normalization"]
    assert stats["mean"] == pytest.approx(raw_values.mean()) and stats["std"] == pytest.approx(raw_values.std())
    xn = norm.train.arrays()[0][:, :, 0]
    flat = np.concatenate([r[:n] for r, n in zip(xn, lengths)])
    assert flat.mean() == pytest.approx(0.0, abs=1e-5) and flat.std() == pytest.approx(1.0, abs=1e-5)
    assert all(np.all(r[n:] == 0) for r, n in zip(xn, lengths))  # padding added after normalising


def test_ucr_validation_is_carved_by_class(tmp_path):
    """A small class keeps its share of the validation rows on every seed (a plain shuffle of 40 rows with 4 of
    class 2 leaves it out of an 8-row validation split on 40% of seeds), and keeps rows for training."""
    from seqlab.data.labels import shuffled_split_indices

    labels = [0] * 30 + [1] * 6 + [2] * 4
    rng = np.random.default_rng(0)
    train = [[c, *rng.normal(size=4).round(3)] for c in labels]
    paths = dict(train_path=_write_tsv(tmp_path / "S_TRAIN.tsv", train),
                 test_path=_write_tsv(tmp_path / "S_TEST.tsv", train[:6]))
    for seed in range(20):
        splits, _ = load_ucr(dataset_cfg("ucr", val_fraction=0.2, **paths), None, seed)
        val, tr = splits.val.arrays()[1], splits.train.arrays()[1]
        assert len(val) == 8 and len(tr) == 32
        assert sorted(Counter(val.tolist()).items())[1:] in ([(1, 1), (2, 1)], [(1, 2), (2, 1)], [(1, 1), (2, 2)])
        assert set(tr.tolist()) == {0, 1, 2}
    # the indices: disjoint, complete, seeded; a class of one row stays in training
    y = np.array([0] * 9 + [1])
    tr, va, _ = shuffled_split_indices(10, 0, 0.3, 1, labels=y)
    assert len(va) == 3 and sorted(np.concatenate([tr, va]).tolist()) == list(range(10)) and 9 in tr
    again = shuffled_split_indices(10, 0, 0.3, 1, labels=y)
    assert np.array_equal(again[0], tr) and np.array_equal(again[1], va)


@pytest.mark.parametrize("row, match", [
    ([1, 1.0, "x", 3.0], r"dataset\.train_path: expected numeric values.*'x' on line 2"),
    ([1, 1.0, "NaN", 3.0], r"dataset\.train_path: expected NaNs only at the end"),
    ([1, 1.0, 2.0], r"dataset\.padding"),
])
def test_ucr_errors(tmp_path, row, match):
    paths = dict(train_path=_write_tsv(tmp_path / "a.tsv", [[1, 1.0, 2.0, 3.0], row, [2, 1, 1, 1]]),
                 test_path=_write_tsv(tmp_path / "b.tsv", [[2, 1.0, 2.0, 3.0]]))
    with pytest.raises(ConfigError, match=match):
        load_ucr(dataset_cfg("ucr", **paths), None, 0)
    one_class = _write_tsv(tmp_path / "c.tsv", [[1, 1.0, 2.0]] * 4)
    with pytest.raises(ConfigError, match=r"dataset\.train_path: expected labels of at least two classes"):
        load_ucr(dataset_cfg("ucr", train_path=one_class, test_path=one_class), None, 0)


# --------------------------------------------------------------------------- series errors
@pytest.mark.parametrize("setup, overrides, match", [
    (None, {"path": "/no/such/file.csv"}, r"dataset\.path: expected an existing file"),
    ("empty", {}, r"dataset\.path: expected a non-empty CSV file"),
    ("header", {}, r"dataset\.path: expected a CSV file with at least one data row"),
    ("badgz", {}, r"dataset\.path: expected a readable CSV file"),
    ("ok", {"targets": ["zz"]}, r"dataset\.targets: expected numeric columns of s\.csv, got 'zz' "
                                r"\(valid choices: a, b\)"),
    ("ok", {"features": ["station"]}, r"dataset\.features: expected a numeric column.*valid choices: a, b"),
    ("ok", {"time_column": "when"}, r"dataset\.time_column: expected a column of s\.csv"),
    ("ok", {"boundaries": [60, 95, 100]}, r"dataset\.input_len.*test split of s\.csv has 5 rows \[95, 100\)"),
    ("ok", {"input_len": 80}, r"dataset\.input_len.*train split of s\.csv has 60 rows"),
    ("ok", {"boundaries": [60, 80, 500]}, r"dataset\.boundaries: expected row numbers within the 100 rows"),
])
def test_series_errors(tmp_path, setup, overrides, match):
    path = tmp_path / ("s.csv.gz" if setup == "badgz" else "s.csv")
    if setup == "ok":
        write_series(path)
    elif setup == "empty":
        path.write_text("")
    elif setup == "header":
        path.write_text("a,b\n")
    elif setup == "badgz":
        path.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    cfg = {"path": path, "time_column": "time", "boundaries": [60, 80, 100], "input_len": 10, "horizon": 6,
           **overrides}
    with pytest.raises(ConfigError, match=match):
        series.load_csv(dataset_cfg("csv", **cfg), None, 0)


# --------------------------------------------------------------------------- downloads
def test_fetch_file_url_caches_and_checks_sha256(tmp_path):
    source = tmp_path / "src" / "blob.bin"
    source.parent.mkdir()
    payload = np.random.default_rng(0).bytes(300_000)
    source.write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    got = download.fetch("blob.bin", source.as_uri(), good, data_dir=None)
    assert got == tmp_path / "cache" / "blob.bin" and got.read_bytes() == payload
    source.unlink()  # a second call is served from the cache, no download
    assert download.fetch("blob.bin", source.as_uri(), good) == got

    source.write_bytes(payload)
    with pytest.raises(download.ChecksumError) as err:
        download.fetch("other.bin", source.as_uri(), "0" * 64)
    assert source.as_uri() in str(err.value) and "0" * 64 in str(err.value) and good in str(err.value)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["blob.bin"]  # nothing partial left


def test_fetch_prefers_data_dir(tmp_path, monkeypatch):
    local = tmp_path / "data"
    local.mkdir()
    (local / "x.csv").write_text("a\n1\n")
    assert download.fetch("x.csv", "file:///nowhere/x.csv", "bad", data_dir=str(local)) == local / "x.csv"
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(local))
    assert download.fetch("x.csv", "file:///nowhere/x.csv", "bad") == local / "x.csv"
    shutil.rmtree(local)
    with pytest.raises(ConfigError, match=r"^dataset.url: could not download x.csv .*SEQLAB_DATA_DIR"):
        download.fetch("x.csv", "file:///nowhere/x.csv", "bad")


def test_local_ett_copy_is_verified_against_the_uncompressed_checksum(tmp_path, shared_datasets):
    import gzip
    import shutil

    from seqlab.data.download import ChecksumError, verify

    cfg = compose(["dataset=etth1"]).dataset
    verify(shared_datasets / "ETTh1.csv.gz", cfg.sha256)  # the shared .gz holds the original bytes
    # ETTm1 under ETTh1's name (the historical swap) is refused, naming the file and both hashes
    shutil.copy(shared_datasets / "ETTm1.csv.gz", tmp_path / "ETTh1.csv.gz")
    with pytest.raises(ChecksumError, match=r"ETTh1\.csv\.gz.*expected f18de3ad"):
        load(cfg, data_dir=str(tmp_path))
    with gzip.open(tmp_path / "ETTh1.csv.gz", "wb") as f:
        f.write(b"date,OT\n")
    with pytest.raises(ChecksumError, match="mismatch"):
        verify(tmp_path / "ETTh1.csv.gz", cfg.sha256)


def test_text_test_split_holds_the_test_rows_not_training_rows(tmp_path):
    """Regression: the test split was once gathered from the training texts."""
    rows = [{"text": f"alpha beta {i}", "label": i % 2, "split": "train"} for i in range(40)]
    rows += [{"text": "gamma delta", "label": i % 2, "split": "test"} for i in range(10)]
    path = tmp_path / "split.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    cfg = compose(["dataset=text_csv", f"dataset.path={path}", "dataset.split_column=split",
                   "dataset.sequence_length=4"]).dataset
    splits, _ = load(cfg)
    x_test, _ = splits.test.arrays()
    x_train, _ = splits.train.arrays()
    assert len(x_test) == 10
    # "gamma delta" never occurs in training, so every test token is out of vocabulary (id 1)
    assert set(np.unique(x_test[:, :2])) == {1}
    assert 1 not in set(np.unique(x_train[:, :2]))


def test_text_truncate_keeps_the_chosen_end(tmp_path):
    """truncate=post keeps a long text's first tokens, truncate=pre its last; short texts are padded at the end."""
    rows = [{"text": "one two three four five six", "label": i % 2, "split": "train"} for i in range(20)]
    rows += [{"text": "two three", "label": 0, "split": "test"}, {"text": "one two three four five six",
                                                                   "label": 1, "split": "test"}]
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False)

    def test_rows(truncate):
        cfg = compose(["dataset=text_csv", f"dataset.path={path}", "dataset.split_column=split",
                       "dataset.sequence_length=3", f"dataset.truncate={truncate}"]).dataset
        splits, _ = load(cfg)
        vocab = splits.info["vocab_size"]
        assert splits.info["truncate"] == truncate and vocab == 8  # padding, OOV and the six words
        x, y = splits.test.arrays()
        return x[np.argsort(y)]

    post, pre = test_rows("post"), test_rows("pre")
    assert post[0].tolist() == pre[0].tolist() and post[0, 2] == 0 and (post[0, :2] > 1).all()  # short: padded
    assert len(set(post[1].tolist()) & set(pre[1].tolist())) == 0  # long: disjoint halves of six distinct words
    assert post[1, 1:].tolist() == post[0, :2].tolist()  # "two three" follow "one" at the start
    with pytest.raises(ConfigError, match=r"dataset\.truncate.*'middle'.*valid choices: post, pre"):
        validate(compose(["dataset=text_csv", f"dataset.path={path}", "dataset.truncate=middle"]))


def test_eval_sequence_length_lets_validation_and_test_read_whole_texts(tmp_path):
    """Train rows are cut at sequence_length, val/test rows at eval_sequence_length; the spec's time axis opens up."""
    rows = [{"text": "one two three four five six", "label": i % 2, "split": "train"} for i in range(20)]
    rows += [{"text": "one two three four five six", "label": i % 2, "split": "test"} for i in range(4)]
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    base = ["dataset=text_csv", f"dataset.path={path}", "dataset.split_column=split", "dataset.sequence_length=3",
            "dataset.truncate=pre", "dataset.val_fraction=0.2"]
    splits, spec = load(compose(base + ["dataset.eval_sequence_length=8"]).dataset)
    train, val, test = (s.arrays()[0] for s in (splits.train, splits.val, splits.test))
    assert train.shape[1] == 3 and val.shape[1] == test.shape[1] == 8 and spec.input_shape == (None,)
    assert (test[:, :6] > 1).all() and (test[:, 6:] == 0).all()  # the whole six-word text, padded at the end
    assert test[0, 3:6].tolist() == train[0].tolist()  # training keeps the same last three words
    assert splits.info["eval_sequence_length"] == 8 and splits.info["full_length_fraction"]["test"] == 0.0
    _, fixed = load(compose(base).dataset)
    assert fixed.input_shape == (3,)  # without it the time axis stays fixed (needed by unroll and XLA shapes)
    with pytest.raises(ConfigError, match=r"dataset\.eval_sequence_length: expected null or a length >= "
                                          r"dataset\.sequence_length \(3\).*got 2"):
        validate(compose(base + ["dataset.eval_sequence_length=2"]))
    with pytest.raises(ConfigError, match=r"model\.unroll: expected false with dataset\.eval_sequence_length"):
        validate(compose(base + ["dataset.eval_sequence_length=8", "model.unroll=true"]))
    with pytest.raises(ConfigError, match=r"model\.pooling: expected max for model=conv1d.*got 'average'"):
        validate(compose(base + ["dataset.eval_sequence_length=8", "model=conv1d", "model.pooling=average"]))
    validate(compose(base + ["dataset.eval_sequence_length=8", "model=conv1d", "model.pooling=max"]))


def test_token_split_sorts_by_length_and_cuts_each_batch_to_its_longest_row():
    from seqlab.data.base import TokenSplit

    lengths = [5, 1, 3, 8, 2, 7]
    x = np.zeros((6, 10), np.int32)
    for i, n in enumerate(lengths):
        x[i, :n] = np.arange(2, 2 + n) + 10 * i  # token ids, 0 = padding at the end
    y = np.arange(6, dtype=np.int32)
    split = TokenSplit(x, y)
    assert [int((r != 0).sum()) for r in split.x] == sorted(lengths)  # kept in order of length
    batches = list(split.dataset(batch_size=2))
    assert [b[0].shape[1] for b in batches] == [2, 5, 8]  # each batch as wide as its longest row, not 10
    for (bx, by) in batches:
        for row, label in zip(bx.numpy(), by.numpy()):
            n = lengths[label]
            np.testing.assert_array_equal(row[:n], x[label, :n])  # the row's tokens, the label its own
            assert (row[n:] == 0).all()


def test_a_missing_file_names_similar_files_in_the_folder_and_the_data_dir(tmp_path):
    (tmp_path / "ETTh1.csv.gz").write_bytes(b"")
    (tmp_path / "other.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"dataset\.path: expected an existing file \(relative paths are also looked "
                                          r"up in data_dir=.*\); similar files: .*ETTh1\.csv\.gz, got 'ETTh1\.csv'"):
        download.local_path("ETTh1.csv", "dataset.path", tmp_path)
    with pytest.raises(ConfigError, match=r"similar files: .*ETTh1\.csv\.gz, got") as err:
        download.local_path(str(tmp_path / "ETTh1.csv"), "dataset.path")
    assert "other.txt" not in str(err.value)
