"""Users' CSV files: every awkward dialect reads as the same data as the clean file, or is refused with a message
that names the file, the line and the option that fixes it (seqlab.data.tabular; no TensorFlow)."""

import gzip
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from seqlab.config import ConfigError
from seqlab.data.tabular import read_table
from seqlab.data.timecolumns import parse_time
from seqlab.data.transforms import OneHot

CLEAN = pd.DataFrame({"load": [1.5, 1234.25, -3.0, 0.125], "temp": [20.0, 21.5, 19.25, 18.0]})


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# name -> (file content, encoding, read options); each must read as CLEAN
SAME_AS_CLEAN = {
    "plain.csv": ("load,temp\n1.5,20\n1234.25,21.5\n-3,19.25\n0.125,18\n", "utf-8", {}),
    "semicolon_decimal_comma.csv": ("load;temp\n1,5;20\n1234,25;21,5\n-3;19,25\n0,125;18\n", "utf-8", {}),
    "tab.csv": ("load\ttemp\n1.5\t20\n1234.25\t21.5\n-3\t19.25\n0.125\t18\n", "utf-8", {}),
    "bom.csv": ("\ufeffload,temp\n1.5,20\n1234.25,21.5\n-3,19.25\n0.125,18\n", "utf-8", {}),
    "crlf.csv": ("load,temp\r\n1.5,20\r\n1234.25,21.5\r\n-3,19.25\r\n0.125,18\r\n", "utf-8", {}),
    "cp1252_semicolon.csv": ("load;temp\n1,5;20\n1234,25;21,5\n-3;19,25\n0,125;18\n", "cp1252", {}),
    "quoted_thousands.csv": ('load,temp\n1.5,20\n"1,234.25",21.5\n-3,19.25\n0.125,18\n', "utf-8",
                             {"thousands": ","}),
    "european_thousands.csv": ("load;temp\n1,5;20\n1.234,25;21,5\n-3;19,25\n0,125;18\n", "utf-8",
                               {"thousands": ".", "decimal": ","}),
    "pandas_index.csv": (",load,temp\n0,1.5,20\n1,1234.25,21.5\n2,-3,19.25\n3,0.125,18\n", "utf-8", {}),
    "blank_lines.csv": ("load,temp\n1.5,20\n\n1234.25,21.5\n-3,19.25\n0.125,18\n\n", "utf-8", {}),
}


@pytest.mark.parametrize("name", sorted(SAME_AS_CLEAN))
def test_awkward_dialects_read_as_the_clean_data(name, tmp_path):
    text, encoding, options = SAME_AS_CLEAN[name]
    table = read_table(_write(tmp_path / name, text, encoding), **options)
    pd.testing.assert_frame_equal(table.frame.reset_index(drop=True), CLEAN, check_dtype=True)
    if name == "pandas_index.csv":
        assert table.dropped == ["Unnamed: 0"] and any("index column" in n for n in table.notes)
    if name.startswith("semicolon") or name.startswith("cp1252"):
        assert table.dialect["sep"] == ";" and table.dialect["decimal"] == ","
    if name == "cp1252_semicolon.csv":
        assert table.dialect["encoding"] in ("utf-8", "cp1252")  # plain ASCII content decodes as UTF-8


def test_non_utf8_text_is_decoded_and_reported(tmp_path):
    path = _write(tmp_path / "latin.csv", "city;load\nZürich;1,5\nKöln;2\n", "latin-1")
    table = read_table(path)
    assert table.frame["city"].tolist() == ["Zürich", "Köln"] and table.frame["load"].tolist() == [1.5, 2.0]
    assert table.dialect["encoding"] == "cp1252" and table.string_columns == ["city"]
    with pytest.raises(ConfigError, match=r"dataset.encoding.*latin.csv.*line 2"):
        read_table(path, encoding="utf-8")


def test_gzip_files_read_like_plain_ones(tmp_path):
    path = tmp_path / "series.csv.gz"
    path.write_bytes(gzip.compress(SAME_AS_CLEAN["semicolon_decimal_comma.csv"][0].encode()))
    pd.testing.assert_frame_equal(read_table(path).frame, CLEAN)


# name -> (content, options, key named, words the message must hold)
REFUSED = {
    "unquoted_thousands.csv": ("load,temp\n1.5,20\n1,234.25,21.5\n", {}, "dataset.sep",
                               ["line 3", "3 fields", "thousands"]),
    "quoted_thousands_unnamed.csv": ('load,temp\n1.5,20\n"1,234.25",21.5\n', {}, "dataset.thousands",
                                     ["'1,234.25'", "line 3", "dataset.thousands=','"]),
    "european_thousands_unnamed.csv": ("load;temp\n1,5;20\n1.234,25;21,5\n", {}, "dataset.thousands",
                                       ["line 3", "dataset.thousands='.'"]),
    "ambiguous_comma.csv": ('load,temp\n"1,5",20\n"2,25",21\n', {}, "dataset.decimal",
                            ["'1,5'", "line 2", "dataset.decimal=','"]),
    "mixed_marks.csv": ("load;temp\n1,5;20.5\n2,25;21.5\n", {}, "dataset.decimal", ["column 'load'", "'temp'"]),
    "short_row.csv": ("load,temp\n1.5,20\n3\n", {}, "dataset.sep", ["line 3", "fewer"]),
    "header_only.csv": ("load,temp\n", {}, "dataset.path", ["header only"]),
    "duplicate_header.csv": ("load,load\n1,2\n", {}, "dataset.path", ["duplicated ['load']"]),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_ambiguous_or_broken_files_are_refused_naming_file_line_and_option(name, tmp_path):
    text, options, key, words = REFUSED[name]
    with pytest.raises(ConfigError) as e:
        read_table(_write(tmp_path / name, text), **options)
    message = str(e.value)
    assert message.startswith(key), message
    assert name in message, message
    for w in words:
        assert w in message, message


def test_text_columns_stay_text_and_are_listed(tmp_path):
    table = read_table(_write(tmp_path / "notes.csv", "load,note,flag\n1,a,true\n2,b,false\n"))
    assert table.frame["load"].tolist() == [1.0, 2.0]
    assert table.string_columns == ["note", "flag"]  # booleans are not silently numbers
    assert table.describe()["string_columns"] == ["note", "flag"]


def test_missing_values_become_nan(tmp_path):
    table = read_table(_write(tmp_path / "gaps.csv", "load,temp\n1,NA\n,2\n3,null\n"))
    assert np.isnan(table.frame["temp"].to_numpy()[[0, 2]]).all() and np.isnan(table.frame["load"][1])


def _times(tmp_path, values, name="t.csv"):
    frame = pd.DataFrame({"time": values, "load": np.arange(len(values), dtype=float)})
    return read_table(_write(tmp_path / name, frame.to_csv(index=False))).frame


def test_time_column_gaps_and_duplicates_are_counted(tmp_path):
    stamps = list(pd.date_range("2021-03-01", periods=10, freq="h").astype(str))
    stamps = stamps[:3] + stamps[6:] + [stamps[-1]]  # 3 missing hours, one duplicate at the end
    frame, times, report = parse_time(_times(tmp_path, stamps), ["time"], tmp_path / "t.csv")
    assert list(frame.columns) == ["load"] and len(times) == 8
    assert report["time_step"] == str(pd.Timedelta("1h")) and report["gaps"] == 1 and report["missing_steps"] == 3
    assert report["duplicate_timestamps"] == 1


def test_unsorted_time_is_refused_unless_sort_is_asked(tmp_path):
    stamps = list(pd.date_range("2021-03-01", periods=5, freq="D").astype(str))
    stamps[1], stamps[2] = stamps[2], stamps[1]
    data = _times(tmp_path, stamps)
    with pytest.raises(ConfigError, match=r"^dataset.sort: .*t.csv.*data row 3"):
        parse_time(data, ["time"], tmp_path / "t.csv")
    frame, times, report = parse_time(data, ["time"], tmp_path / "t.csv", sort=True)
    assert times.is_monotonic_increasing and frame["load"].tolist() == [0, 2, 1, 3, 4] and report["sorted"]


def test_numeric_time_needs_a_unit_and_parts_can_be_the_time(tmp_path):
    data = read_table(_write(tmp_path / "unix.csv", "t,load\n1600000000,1\n1600003600,2\n")).frame
    with pytest.raises(ConfigError, match=r"^dataset.time_unit: .*'t'"):
        parse_time(data, ["t"], tmp_path / "unix.csv")
    _, times, _ = parse_time(data, ["t"], tmp_path / "unix.csv", unit="s")
    assert times.iloc[1] - times.iloc[0] == pd.Timedelta("1h")
    parts = read_table(_write(tmp_path / "parts.csv", "Year,Month,Day,Hour,load\n2020,1,31,22,1\n2020,1,31,23,2\n"
                                                         "2020,2,1,0,3\n")).frame
    frame, times, _ = parse_time(parts, ["Year", "Month", "Day", "Hour"], tmp_path / "parts.csv")
    assert list(frame.columns) == ["load"] and str(times.iloc[2]) == "2020-02-01 00:00:00"
    with pytest.raises(ConfigError, match=r"^dataset.time_column: .*year, month, day"):
        parse_time(parts, ["Year", "load"], tmp_path / "parts.csv")
    with pytest.raises(ConfigError, match=r"^dataset.time_column: .*unparseable"):
        parse_time(_times(tmp_path, ["2020-01-01", "soon"]), ["time"], tmp_path / "t.csv")


def test_one_hot_uses_training_categories_only(tmp_path):
    data = read_table(_write(tmp_path / "cat.csv", "site,load\nx,1\ny,2\nx,3\nz,4\n")).frame
    transform = OneHot.fit(data, ["site"], train_rows=3, source="cat.csv")
    out, cats = transform.apply(data), transform.categories
    assert cats == {"site": ["x", "y"]} and list(out.columns) == ["site=x", "site=y", "load"]
    assert out.to_numpy().tolist() == [[1, 0, 1], [0, 1, 2], [1, 0, 3], [0, 0, 4]]  # z: unseen in training


def test_reader_imports_no_tensorflow(tmp_path):
    path = _write(tmp_path / "s.csv", "a;b\n1,5;2\n")
    code = (f"import sys; from seqlab.data.tabular import read_table; read_table({str(path)!r}); "
            "assert 'tensorflow' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------- through the csv dataset option
def _series_csv(tmp_path, name, sep=",", decimal=".", shuffle=False, extra=None):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"time": pd.date_range("2022-01-01", periods=n, freq="h").astype(str),
                          "load": np.round(np.sin(np.arange(n) / 7) * 100 + 500 + rng.normal(0, 5, n), 3),
                          "temp": np.round(rng.normal(10, 3, n), 3)})
    for k, v in (extra or {}).items():
        frame[k] = v
    if shuffle:
        frame = frame.iloc[rng.permutation(n)]
    text = frame.to_csv(index=False, sep=sep)
    if decimal == ",":
        text = "\n".join(line.replace(".", ",") if i else line for i, line in enumerate(text.splitlines())) + "\n"
    return _write(tmp_path / name, text)


def _cfg(path, *extra):
    from seqlab.config import compose

    return compose(["dataset=csv", f"dataset.path={path}", "dataset.time_column=time", "dataset.input_len=24",
                    "dataset.horizon=6", *extra])


def test_a_european_csv_gives_the_same_windows_as_the_plain_one(tmp_path):
    from seqlab import data
    from seqlab.config import validate

    plain, euro = _series_csv(tmp_path, "plain.csv"), _series_csv(tmp_path, "euro.csv", sep=";", decimal=",")
    cfg_plain, cfg_euro = _cfg(plain), _cfg(euro)
    validate(cfg_euro)
    (a, _), (b, _) = data.load(cfg_plain.dataset), data.load(cfg_euro.dataset)
    np.testing.assert_array_equal(a.train.arrays()[0], b.train.arrays()[0])
    assert b.info["dialect"]["sep"] == ";" and b.info["dialect"]["decimal"] == ","
    assert b.info["features"] == ["load", "temp"] and b.info["time"]["time_step"] == str(pd.Timedelta("1h"))


def test_text_columns_are_reported_and_one_hot_encoded_on_request(tmp_path):
    from seqlab import data

    site = np.where(np.arange(300) % 3 == 0, "north", "south")
    path = _series_csv(tmp_path, "sites.csv", extra={"site": site})
    splits, spec = data.load(_cfg(path).dataset)
    assert splits.info["string_columns"] == ["site"] and splits.info["unused_columns"] == ["site"]
    assert spec.feature_names == ("load", "temp")
    splits, spec = data.load(_cfg(path, "dataset.categorical=[site]").dataset)
    assert spec.feature_names == ("load", "temp", "site=north", "site=south")
    assert spec.target_names == ("load", "temp")  # one-hot columns are never default targets
    assert splits.info["categorical"] == {"site": ["north", "south"]}


def test_csv_refusals_come_before_tensorflow_and_name_the_option(tmp_path):
    unsorted = _series_csv(tmp_path, "unsorted.csv", shuffle=True)
    code = (
        "import sys\n"
        "from seqlab.config import compose, validate, ConfigError\n"
        f"cfg = compose(['dataset=csv', 'dataset.path={unsorted}', 'dataset.time_column=time'])\n"
        "try:\n    validate(cfg)\nexcept ConfigError as e:\n    print(e)\n"
        "assert 'tensorflow' not in sys.modules\n"
        f"cfg = compose(['dataset=csv', 'dataset.path={unsorted}', 'dataset.time_column=time', 'dataset.sort=true'])\n"
        "validate(cfg); print('sorted ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("dataset.sort: expected rows in time order in unsorted.csv") and "sorted ok" in r.stdout


# --------------------------------------------------------------------------- labelled text files
def _reviews(tmp_path, rows, name="reviews.csv", sep=",", encoding="utf-8"):
    lines = [sep.join(["text", "label"])] + [sep.join(r) for r in rows]
    return _write(tmp_path / name, "\n".join(lines) + "\n", encoding)


def _text_cfg(path, *extra):
    from seqlab.config import compose

    return compose(["dataset=text_csv", f"dataset.path={path}", "dataset.test_fraction=0.25",
                    "dataset.val_fraction=0.25", *extra])


def test_labels_are_stripped_and_numbers_read_as_integers(tmp_path):
    from seqlab.data.text import _labels

    raw = [" 1", "0 ", "1.0", "0"]
    labels = _labels(pd.Series(raw), "x.csv")
    assert labels.class_names == [0, 1] and labels.ids(raw).tolist() == [1, 0, 1, 0]
    raw = [" pos", "neg ", "pos"]
    labels = _labels(pd.Series(raw), "x.csv")
    assert labels.class_names == ["neg", "pos"] and labels.ids(raw).tolist() == [1, 0, 1]


def test_empty_texts_or_labels_are_refused_with_their_lines_or_dropped(tmp_path):
    from seqlab.config import ConfigError, validate
    from seqlab.data.text import _read_text_csv, clean_rows

    rows = [(f"review number {i} good" if i != 3 else "  ", "pos" if i % 2 else "neg") for i in range(12)]
    rows[7] = ("a fine film", "")
    path = _reviews(tmp_path, rows, sep=";", encoding="cp1252")
    with pytest.raises(ConfigError) as e:
        validate(_text_cfg(path))
    assert str(e.value).startswith("dataset.drop_missing: expected true") and "on lines [5, 9]" in str(e.value)
    cfg = _text_cfg(path, "dataset.drop_missing=true")
    validate(cfg)
    _, frame, _ = _read_text_csv(cfg.dataset, None)
    kept, dropped = clean_rows(frame, cfg.dataset, path.name)
    assert dropped == 2 and len(kept) == 10


def test_a_class_with_no_training_example_is_an_error(tmp_path):
    from seqlab.config import ConfigError
    from seqlab.data.text import load_text_csv

    rows = [(f"text {i}", "a" if i % 2 else "b") for i in range(10)] + [("rare words", "c")]
    frame = pd.DataFrame(rows, columns=["text", "label"])
    frame["split"] = ["train"] * 10 + ["test"]
    path = tmp_path / "split.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ConfigError, match=r"^dataset.label_column: .*every class.*\['c'\] only outside"):
        load_text_csv(_text_cfg(path, "dataset.split_column=split").dataset)


def test_whole_number_years_and_yyyymmdd_numbers_read_as_dates(tmp_path):
    years = read_table(_write(tmp_path / "sunspots.csv", "YEAR,spots\n1700,5\n1701,11\n1702,16\n")).frame
    _, times, report = parse_time(years, ["YEAR"], tmp_path / "sunspots.csv")
    assert [str(t.date()) for t in times] == ["1700-01-01", "1701-01-01", "1702-01-01"]
    assert report["time_step"] == "365 days 00:00:00"
    days = read_table(_write(tmp_path / "days.csv", "date,v\n19580329,1\n19580330,2\n19580331,3\n")).frame
    _, times, _ = parse_time(days, ["date"], tmp_path / "days.csv")
    assert str(times.iloc[0].date()) == "1958-03-29" and times.iloc[1] - times.iloc[0] == pd.Timedelta("1D")


def test_time_format_reads_any_numeric_or_text_dates_and_is_checked(tmp_path):
    hours = read_table(_write(tmp_path / "h.csv", "t,v\n2024010100,1\n2024010101,2\n2024010102,3\n")).frame
    with pytest.raises(ConfigError, match=r"^dataset.time_unit: .*dataset.time_format=FORMAT") as e:
        parse_time(hours, ["t"], tmp_path / "h.csv")
    assert "valid choices: s, ms" in str(e.value)
    _, times, _ = parse_time(hours, ["t"], tmp_path / "h.csv", time_format="%Y%m%d%H")
    assert times.iloc[2] - times.iloc[0] == pd.Timedelta("2h")
    text = read_table(_write(tmp_path / "d.csv", "t,v\n31.01.2024,1\n01.02.2024,2\n")).frame
    _, times, _ = parse_time(text, ["t"], tmp_path / "d.csv", time_format="%d.%m.%Y")
    assert str(times.iloc[1].date()) == "2024-02-01"
    with pytest.raises(ConfigError, match=r"^dataset.time_format: expected a strptime format"):
        parse_time(text, ["t"], tmp_path / "d.csv", time_format="dd.mm.yyyy")
    with pytest.raises(ConfigError, match=r"^dataset.time_format: .*unparseable"):
        parse_time(text, ["t"], tmp_path / "d.csv", time_format="%Y-%m-%d")
