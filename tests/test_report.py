"""`seqlab report DIR`: finds runs and sweep trials, shows differing config keys, sorts sensibly, writes CSV/Markdown,
and never imports TensorFlow."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from seqlab import report

BASE = {"dataset": {"name": "sine", "limit": None, "split": [0.7, 0.15]},
        "model": {"name": "lstm", "units": 32, "layers": 1},
        "regularizer": {"name": "none", "l2": 0.0},
        "trainer": {"name": "fit", "lr": 0.001, "batch_size": 64}, "seed": 0}


def make_run(path, test, changes=None, **metrics):
    cfg = json.loads(json.dumps(BASE))
    for key, value in (changes or {}).items():
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    m = {"task": "regression", "test": test, "baseline": {"mse": 1.1, "mae": 0.8}, "epochs": 3, "best_epoch": 2,
         "train_seconds": 1.5}
    m.update(metrics)
    (path / "metrics.json").write_text(json.dumps(m))


@pytest.fixture
def runs(tmp_path):
    make_run(tmp_path / "2026-01-01" / "10-00-00", {"loss": 0.3, "mse": 0.3, "mae": 0.4}, status="completed",
             diagnosis={"verdict": "still learning", "advice": "more epochs"})
    make_run(tmp_path / "2026-01-01" / "11-00-00", {"loss": 0.1, "mse": 0.1, "mae": 0.2},
             {"model.units": 64, "trainer.name": "tape"}, status="completed")
    make_run(tmp_path / "sweep" / "trial_0", {"loss": "nan", "mse": "nan", "mae": "nan"},
             {"trainer.lr": 0.5}, status="diverged", diagnosis={"verdict": "diverged"})
    make_run(tmp_path / "sweep" / "trial_1", {"loss": 0.2, "mse": 0.2, "mae": 0.3}, {"model.name": "gru"})
    (tmp_path / "sweep" / ".hydra").mkdir()  # the sweep's own folder: config but no metrics -> not a run
    (tmp_path / "sweep" / ".hydra" / "config.yaml").write_text(yaml.safe_dump(BASE))
    return tmp_path


def test_table_shows_differing_keys_metrics_and_status(runs):
    df = report.collect(runs)
    assert len(df) == 4
    assert list(df.columns[:6]) == ["run", "model.name", "dataset.name", "model.units", "trainer.lr", "trainer.name"]
    assert "model.layers" not in df.columns and "dataset.split" not in df.columns  # the same everywhere
    assert {"test.loss", "test.mse", "baseline.mse", "epochs", "best_epoch", "seconds", "status", "diagnosis"} \
        <= set(df.columns)
    row = df.set_index("run").loc["sweep/trial_1"]
    assert row["model.name"] == "gru" and row["status"] == "unknown" and row["diagnosis"] == ""
    assert df.set_index("run").loc["2026-01-01/10-00-00", "diagnosis"] == "still learning"


def test_sort_direction_follows_the_metric(runs):
    df = report.sort_table(report.collect(runs), "test.mse")
    assert list(df["run"]) == ["2026-01-01/11-00-00", "sweep/trial_1", "2026-01-01/10-00-00", "sweep/trial_0"]
    assert report.higher_is_better("test.accuracy") and not report.higher_is_better("test.mse")
    assert report.higher_is_better("val_accuracy") and not report.higher_is_better("seconds")
    df = report.sort_table(report.collect(runs), "test.mse", descending=True)
    assert df["run"].iloc[0] == "2026-01-01/10-00-00" and df["run"].iloc[-1] == "sweep/trial_0"  # NaN last
    assert report.sort_table(report.collect(runs), None)["run"].iloc[0] == "2026-01-01/11-00-00"  # test.loss


def test_cli_writes_csv_and_markdown(runs, tmp_path, capsys):
    assert report.main([str(runs), "--sort", "test.mae"]) == 0
    out = capsys.readouterr().out
    assert "4 runs" in out and "trial_1" in out
    csv = pd.read_csv(runs / "report.csv")
    assert csv["run"].iloc[0] == "2026-01-01/11-00-00" and len(csv) == 4
    md = (runs / "report.md").read_text().splitlines()
    assert md[0].startswith("| run | model.name |") and md[1].startswith("|---|") and len(md) == 6
    assert report.main([str(runs / "sweep"), "--csv", str(tmp_path / "s.csv"), "--md", str(tmp_path / "s.md")]) == 0
    assert len(pd.read_csv(tmp_path / "s.csv")) == 2 and (tmp_path / "s.md").exists()


def test_cli_errors(runs, tmp_path, capsys):
    assert report.main([str(runs), "--sort", "test.nope"]) == 2
    assert "no column 'test.nope'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert report.main([str(tmp_path / "empty")]) == 1
    assert report.main([str(tmp_path / "missing")]) == 2


def test_seqlab_report_entry_point_without_tensorflow(runs):
    code = ("import sys; from seqlab.cli import main\n"
            "try:\n    main(['report', sys.argv[1], '--sort', 'test.mse'])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code, str(runs)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "4 runs" in out.stdout
    out = subprocess.run([sys.executable, "-m", "seqlab.report", str(runs)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "sweep/trial_0" in out.stdout, out.stderr


def test_a_malformed_config_is_one_log_line_and_the_run_is_still_listed(runs, caplog, capsys):
    bad = runs / "2026-01-01" / "10-00-00" / ".hydra" / "config.yaml"
    bad.write_text("model: {name: lstm\n  units: [\n")  # cut short while copying
    assert report.main([str(runs)]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "4 runs" in out.out
    lines = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(lines) == 1 and str(bad) in lines[0] and "config columns stay empty" in lines[0]
    df = report.collect(runs)
    row = df[df["run"] == "2026-01-01/10-00-00"].iloc[0]
    assert row["status"] == "completed" and pd.isna(row["model.name"])


def test_a_read_only_folder_shows_the_table_and_says_where_nothing_was_written(runs, tmp_path, capsys,
                                                                                monkeypatch):
    def read_only(path, write, suffix=""):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(report, "atomic_write", read_only)  # root ignores chmod: the folder's refusal, simulated
    assert report.main([str(runs)]) == 0
    out = capsys.readouterr()
    assert "trial_1" in out.out and "Traceback" not in out.err
    assert out.err.strip() == (f"4 runs; report.csv and report.md not written: {runs / 'report.csv'}: Permission "
                               "denied (choose where with --csv FILE --md FILE)")
    assert report.main([str(runs), "--csv", str(runs / "r.csv")]) == 1  # a place the user named: an error
    assert capsys.readouterr().err.strip() == f"error: cannot write {runs / 'r.csv'}: Permission denied"


def test_two_thousand_runs_report_without_omegaconf_parsing(tmp_path, monkeypatch):
    """The scale case: every config is read by libyaml's loader, never by OmegaConf's (92% of 15.7 s before)."""
    import omegaconf

    make_run(tmp_path / "r0", {"loss": 0.1, "mse": 0.1, "mae": 0.2})
    for i in range(1, 2000):
        (tmp_path / f"r{i}").mkdir()
        for name in ("metrics.json", ".hydra"):
            src, dst = tmp_path / "r0" / name, tmp_path / f"r{i}" / name
            (dst.symlink_to(src, target_is_directory=src.is_dir()))
    calls = []
    monkeypatch.setattr(omegaconf.OmegaConf, "load", lambda *a, **k: calls.append(a))
    df = report.collect(tmp_path)
    assert len(df) == 2000 and not calls and set(df["model.name"]) == {"lstm"}
