"""Labelled-series files: UCR text in every delimiter, with or without a header, gzipped; UEA/sktime .ts files
(multivariate, unequal lengths, missing values); clear errors otherwise."""

import gzip

import numpy as np
import pytest

from seqlab.config import ConfigError
from seqlab.data.classfiles import read_labelled, read_ts, read_ucr

ROWS = [(1, [0.5, 1.0, 1.5]), (2, [2.0, -1.0, 0.25]), (1, [3.0, 4.0, np.nan])]  # the last is shorter


def _ucr_text(sep: str, header: bool = False) -> str:
    lines = [sep.join(["target", "t0", "t1", "t2"])] if header else []
    for label, values in ROWS:
        lines.append(sep.join([str(label)] + ["NaN" if np.isnan(v) else repr(v) for v in values]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("sep,header,gz", [("\t", False, False), (",", True, False), (" ", False, True),
                                           (", ", True, True)])
def test_ucr_files_in_every_dialect_read_the_same(sep, header, gz, tmp_path):
    text = _ucr_text(sep, header)
    path = tmp_path / ("train.tsv.gz" if gz else "train.tsv")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    rows, labels = read_ucr(path, "dataset.train_path")
    assert labels == [1, 2, 1]
    assert [r.shape for r in rows] == [(3, 1), (3, 1), (2, 1)]  # trailing NaN padding removed
    np.testing.assert_array_equal(rows[1][:, 0], [2.0, -1.0, 0.25])


def test_ucr_errors_name_the_key_the_line_and_the_value(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t0.5\t1.0\n2\t0.5\toops\n")
    with pytest.raises(ConfigError, match=r"^dataset.train_path: .*'oops' on line 2"):
        read_ucr(bad, "dataset.train_path")
    inner = tmp_path / "inner.tsv"
    inner.write_text("1\t0.5\tNaN\t1.0\n")
    with pytest.raises(ConfigError, match=r"NaNs inside line 1"):
        read_ucr(inner, "dataset.test_path")
    with pytest.raises(ConfigError, match=r"^dataset.test_path: expected an existing file"):
        read_ucr(tmp_path / "missing.tsv", "dataset.test_path")


TS = """# a BasicMotions-like sample
@problemName tiny
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true walking running
@data
0.1,0.2,0.3:1.0,1.1,1.2:walking
0.5,?,0.7,0.8:2.0,2.1,2.2,2.3:running
0.9,1.0:3.0,3.1:walking
"""


def test_ts_files_read_multivariate_unequal_length_series(tmp_path):
    path = tmp_path / "tiny_TRAIN.ts"
    path.write_text(TS)
    rows, labels, header = read_ts(path, "dataset.train_path")
    assert labels == ["walking", "running", "walking"] and header["dimensions"] == "2"
    assert [r.shape for r in rows] == [(3, 2), (4, 2), (2, 2)]
    assert np.isnan(rows[1][1, 0]) and rows[1][3, 1] == 2.3
    gz = tmp_path / "tiny_TEST.ts.gz"
    gz.write_bytes(gzip.compress(TS.encode()))
    rows_gz, labels_gz = read_labelled(gz, "dataset.test_path")
    assert labels_gz == labels and all(np.array_equal(a, b, equal_nan=True) for a, b in zip(rows, rows_gz))


@pytest.mark.parametrize("text,words", [
    (TS.replace(":running\n", ":jumping\n"), "@classLabel"),
    (TS.replace("@classLabel true walking running", "@classLabel false"), "@classLabel true"),
    (TS.replace("0.9,1.0:3.0,3.1", "0.9,1.0"), "2 channels"),
    (TS.replace("0.1,0.2,0.3", "0.1,x,0.3"), "line 10"),
    (TS.replace("@data\n", ""), "@data"),
])
def test_ts_errors_say_what_was_expected(text, words, tmp_path):
    path = tmp_path / "bad.ts"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        read_ts(path, "dataset.train_path")
    assert str(e.value).startswith("dataset.train_path") and words in str(e.value), str(e.value)


def test_the_ucr_dataset_reads_multivariate_ts_files(tmp_path):
    from seqlab.config import compose, validate
    from seqlab.data import load

    train, test = tmp_path / "tiny_TRAIN.ts", tmp_path / "tiny_TEST.ts"
    cases = [TS.split("@data\n")[1].splitlines()[i] for i in (0, 2)]  # complete cases only
    body = "\n".join(cases * 5) + "\n"
    train.write_text(TS.split("@data\n")[0] + "@data\n" + body)
    test.write_text(TS)  # holds a missing value
    base = ["dataset=ucr", f"dataset.train_path={train}", f"dataset.test_path={test}", "dataset.padding=post",
            "dataset.val_fraction=0.2"]
    validate(compose(base))
    with pytest.raises(ConfigError, match=r"^dataset.interpolate: .*1 missing values in case 2 of tiny_TEST.ts"):
        load(compose(base).dataset)
    splits, spec = load(compose(base + ["dataset.interpolate=true"]).dataset)
    assert spec.input_shape == (4, 2) and spec.num_classes == 2 and spec.feature_names == ("channel_0", "channel_1")
    x, _ = splits.test.arrays()
    assert x.shape == (3, 4, 2) and np.isfinite(x).all()
    assert len(splits.info["normalization"]["mean"]) == 2


def test_val_fraction_zero_keeps_the_whole_training_file(tmp_path):
    """dataset.val_fraction=0 (small sets): every training row trains, the empty validation split keeps the
    series' shape, statistics come from the whole file; a sweep, compared on validation, is refused."""
    from seqlab.config import compose, validate
    from seqlab.data import load

    train, test = tmp_path / "tiny_TRAIN.ts", tmp_path / "tiny_TEST.ts"
    cases = [TS.split("@data\n")[1].splitlines()[i] for i in (0, 2)]
    train.write_text(TS.split("@data\n")[0] + "@data\n" + "\n".join(cases * 5) + "\n")
    test.write_text(TS)
    base = ["dataset=ucr", f"dataset.train_path={train}", f"dataset.test_path={test}", "dataset.padding=post",
            "dataset.interpolate=true", "dataset.val_fraction=0"]
    validate(compose(base))
    splits, spec = load(compose(base).dataset)
    assert (len(splits.train), len(splits.val)) == (10, 0)
    assert splits.val.arrays()[0].shape == (0,) + spec.input_shape == (0, 4, 2)
    assert "whole training file" in splits.info["normalization"]["rows"]
    with pytest.raises(ConfigError, match=r"^dataset.val_fraction: expected a fraction above 0 with sweep=lr"):
        validate(compose(base + ["sweep=lr"]))
    with pytest.raises(ConfigError, match=r"^dataset.val_fraction: expected a value in \[0, 1\)"):
        validate(compose(base[:-1] + ["dataset.val_fraction=-0.1"]))
