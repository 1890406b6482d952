"""`seqlab predict` / `seqlab export` at the command line: one line instead of a traceback for every path or
option they cannot honour (checked before predicting), nothing replaced without --overwrite (never the input or
a run's own files), and outputs written atomically: a failed export leaves nothing behind."""

import os
import shutil
from pathlib import Path

import pytest

from seqlab.inference import export as export_cli
from seqlab.inference import predict_cli


def predict(capsys, *args):
    code = predict_cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err.strip()


def one_line(err: str) -> str:
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def run(series_run, tmp_path, monkeypatch):
    """A copy of the session's series run, its training CSV as new input, and the temp folder as cwd."""
    folder, frame, _, _ = series_run
    shutil.copytree(folder / "run", tmp_path / "run")
    frame.tail(60).to_csv(tmp_path / "new.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "run", tmp_path / "new.csv"


@pytest.mark.parametrize("where", ["directory", "dot", "trailing_slash", "no_folder"])
def test_output_or_plot_that_is_not_a_file_is_refused_before_predicting(where, run, capsys, monkeypatch):
    run_dir, new = run
    Path("afile").write_text("")
    target = {"directory": str(Path.cwd()), "dot": ".", "trailing_slash": "out/", "no_folder": "afile/x.csv"}[where]
    monkeypatch.setattr(predict_cli, "_series", lambda *a: pytest.fail("predicted before refusing"))
    for flag in ("--output", "--plot"):
        code, _, err = predict(capsys, run_dir, new, flag, target)
        assert code == 2 and one_line(err).startswith(f"error: {flag}: expected a ")
        assert target in err


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(run, capsys, monkeypatch):
    import errno

    from seqlab.train import outputs

    run_dir, new = run

    def full(path, write, suffix=""):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(outputs, "atomic_write", full)
    code, out, err = predict(capsys, run_dir, new, "--output", "f.csv")
    assert code == 1 and one_line(err) == "error: f.csv: No space left on device"
    assert not Path("f.csv").exists() and out == ""


@pytest.mark.parametrize("args, message", [
    (["--rolling", "--stride", "0"], "error: --stride: expected a whole number of rows >= 1, got 0"),
    (["--rolling", "--stride", "-1"], "error: --stride: expected a whole number of rows >= 1, got -1"),
    (["--stride", "5"], "error: --stride: expected --rolling with it (rows between the rolling windows' ends), "
                        "got '--stride 5 without --rolling'"),
])
def test_stride_is_refused_unless_a_positive_rolling_stride(args, message, run, capsys):
    run_dir, new = run
    code, _, err = predict(capsys, run_dir, new, *args)
    assert code == 2 and one_line(err) == message


def test_the_default_output_name_keeps_every_dot_but_the_last(run, capsys):
    run_dir, new = run
    for year in (2024, 2025):
        shutil.copy(new, f"sales.{year}.csv")
        code, out, err = predict(capsys, run_dir, f"sales.{year}.csv")
        assert code == 0, err
        assert f"-> sales.{year}.predictions.csv" in out
    assert Path("sales.2024.predictions.csv").is_file() and Path("sales.2025.predictions.csv").is_file()


def test_nothing_is_replaced_without_overwrite_and_never_the_input_or_the_run(run, capsys):
    run_dir, new = run
    before = new.read_bytes()
    code, _, err = predict(capsys, run_dir, new, "--output", new)
    assert code == 2 and "(the input itself)" in one_line(err) and new.read_bytes() == before
    model = (run_dir / "model.keras").read_bytes()
    code, _, err = predict(capsys, run_dir, new, "--output", run_dir / "model.keras", "--overwrite")
    assert code == 2 and "it would replace the run's own files" in one_line(err)
    assert (run_dir / "model.keras").read_bytes() == model
    assert predict(capsys, run_dir, new, "--output", "p.csv")[0] == 0
    first = Path("p.csv").read_bytes()
    code, _, err = predict(capsys, run_dir, new, "--output", "p.csv")
    assert code == 2 and one_line(err) == "error: --output: expected a new file (pass --overwrite to replace it), " \
                                         "got 'p.csv exists'"
    assert Path("p.csv").read_bytes() == first
    code, out, err = predict(capsys, run_dir, new, "--output", "p.csv", "--plot", "p.png", "--overwrite")
    assert code == 0 and "plot: p.png" in out and Path("p.png").is_file()


@pytest.mark.parametrize("damage", ["empty", "truncated"])
@pytest.mark.parametrize("name", ["model.keras", "inference.json"])
def test_a_damaged_run_file_is_one_line_naming_it(name, damage, run, capsys):
    run_dir, new = run
    path = run_dir / name
    data = path.read_bytes()
    path.write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    code, _, err = predict(capsys, run_dir, new)
    assert code == 2 and str(path) in one_line(err), err


def export(capsys, *args):
    code = export_cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err.strip()


def test_export_refusals_and_a_failed_export_leaves_nothing(run, capsys):
    run_dir, _ = run
    model = (run_dir / "model.keras").read_bytes()
    code, _, err = export(capsys, run_dir, "--format", "litert", "--output", run_dir / "model.keras")
    assert code == 2 and "it would replace the run's own files" in one_line(err)
    assert (run_dir / "model.keras").read_bytes() == model
    listing = sorted(p.name for p in Path.cwd().iterdir())
    code, _, err = export(capsys, run_dir, "--format", "saved_model", "--output", "sm", "--tolerance", "-1")
    assert code == 1 and one_line(err).startswith("error: saved_model export FAILED its parity on ")
    assert "nothing was written" in err and sorted(p.name for p in Path.cwd().iterdir()) == listing
    assert export(capsys, run_dir, "--format", "saved_model", "--output", "sm")[0] == 0
    code, _, err = export(capsys, run_dir, "--format", "saved_model", "--output", "sm")
    assert code == 2 and "pass --overwrite" in one_line(err)
    (run_dir / "examples.npz").unlink()
    code, _, err = export(capsys, run_dir, "--format", "saved_model", "--output", "sm2")
    assert code == 2 and str(run_dir / "examples.npz") in one_line(err) and not Path("sm2").exists()
