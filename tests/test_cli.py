"""The README's commands, run as subprocesses exactly as a user types them; bad input through the CLI."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inprocess import seqlab_main

REPO = Path(__file__).resolve().parents[1]


def seqlab(*args, cwd=None, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "seqlab", *args], cwd=cwd or REPO, env=e, capture_output=True,
                          text=True, timeout=timeout)


def missing_help_lines(text: str):
    """(group, option) pairs without their own line under their group's heading in --help: the option name first,
    then its description (`   *lstm    Recurrent model: ...`)."""
    from seqlab.config import GROUPS, options

    missing = []
    for group in GROUPS + ("experiment",):
        block = re.search(rf"^  {group}:\n((?:   .*\n?)*)", text, re.M)
        for option in options(group):
            if not (block and re.search(rf"^   [* ]{re.escape(option)} +\S", block.group(1), re.M)):
                missing.append((group, option))
    return missing


def test_help_lists_every_group_and_option():
    r = seqlab("--help")
    assert r.returncode == 0
    assert missing_help_lines(r.stdout) == []
    assert "schema" not in r.stdout


def test_help_check_fails_when_an_option_line_is_removed():
    from seqlab.cli import help_text

    text = help_text()
    for gone in ("    csv ", "   *lstm ", "    imdb_bilstm "):
        lines = [line for line in text.splitlines() if not line.startswith(gone)]
        assert len(lines) == len(text.splitlines()) - 1, gone
        assert len(missing_help_lines("\n".join(lines))) == 1, gone  # text_csv's line does not hide csv's


def test_cfg_job_prints_resolved_config_without_tensorflow():
    code = ("import sys; from seqlab.cli import main; sys.argv=['seqlab'];"
            "main(['--cfg', 'job', 'model=gru', 'trainer.lr=0.01']);"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported by --cfg job'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "name: gru" in r.stdout and "lr: 0.01" in r.stdout


def _csv(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(600)
    df = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=600, freq="h").astype(str),
                       "load": np.sin(t / 10) + 0.1 * rng.normal(size=600), "temp": np.cos(t / 15),
                       "note": ["x"] * 600})
    p = tmp_path / "series.csv"
    df.to_csv(p, index=False)
    return p


SLOW = pytest.mark.slow  # the data's errors come after TensorFlow loads; the config's before it (fast)
# the CLI in this process (tests/inprocess.py); a real process's bad config: test_two_runs_claiming_the_same_name_...
BAD_INPUT = [
    (["model=lstmm"], "model/lstmm", ["conv1d", "gru", "lstm", "simplernn"]),
    (["model.unitz=3"], "model.unitz", []),
    (["trainer.epochs=many"], "trainer.epochs", []),
    (["trainer.lr=-0.001"], "trainer.lr", ["> 0"]),
    (["model.units=-3"], "model.units", ["> 0"]),
    (["regularizer.dropout=1.5"], "regularizer.dropout", ["[0, 1)"]),
    (["dataset.horizon=0"], "dataset.horizon", ["> 0"]),
    pytest.param(["dataset=csv", "dataset.path=/nonexistent/series.csv"], "dataset.path", ["/nonexistent/series.csv"],
                 marks=SLOW),
    pytest.param(["dataset=csv", "dataset.path={csv}", "dataset.targets=[nope]"], "dataset.targets", ["nope", "load"],
                 marks=SLOW),
    pytest.param(["dataset=csv", "dataset.path={csv}", "dataset.targets=[note]"], "dataset.targets", ["note"],
                 marks=SLOW),
    pytest.param(["dataset=csv", "dataset.path={csv}", "dataset.time_column=time", "dataset.features=[load]",
                  "dataset.targets=[load]", "dataset.input_len=500"], "dataset.input_len", ["500"], marks=SLOW),
]
BAD_IDS = [(b.values if hasattr(b, "values") else b)[1] for b in BAD_INPUT]


@pytest.mark.parametrize("overrides,key,mentions", BAD_INPUT, ids=BAD_IDS)
def test_bad_input_exits_nonzero_naming_the_key(overrides, key, mentions, tmp_path):
    csv = _csv(tmp_path)
    args = [o.replace("{csv}", str(csv)) for o in overrides]
    r = seqlab_main(*args, f"hydra.run.dir={tmp_path / 'run'}", "trainer.epochs=1", cwd=REPO)
    assert r.returncode != 0
    err = r.stderr + r.stdout
    assert key in err, err[-2000:]
    for m in mentions:
        assert m in err, (m, err[-2000:])
    assert "Traceback" not in err
    assert not (tmp_path / "run" / "metrics.json").exists()


class Started:
    """`python -m seqlab ARGS` started now, its outcome read later (output in files: a pipe could fill up)."""

    def __init__(self, args, log: Path, cwd=None, env=None):
        self.out, self.err = log.with_suffix(".out"), log.with_suffix(".err")
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "seqlab", *args], cwd=cwd or REPO,
                                         env=dict(os.environ, **(env or {})), stdout=out, stderr=err)

    def result(self, timeout=600) -> subprocess.CompletedProcess:
        code = self.proc.wait(timeout=timeout)
        return subprocess.CompletedProcess(self.proc.args, code, self.out.read_text(), self.err.read_text())


def _reviews_csv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    good, bad = ["great", "wonderful", "superb"], ["awful", "boring", "terrible"]
    rows = []
    for i in range(400):
        label = i % 2
        words = list(rng.choice(["the", "film", "was", "plot", "actors", "and"], 8))
        words.insert(int(rng.integers(0, 8)), str(rng.choice(good if label else bad)))
        rows.append({"review": " ".join(words), "sentiment": "pos" if label else "neg"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def start_readme_runs(tmp_path_factory, request):
    """The README's training commands, all started on first use so that they train side by side (each alone keeps
    one of two cores busy); {name: (run directory, Started)}. etth1 needs the shared datasets: absent, not started.
    The session fixture readme_runs (conftest.py): test_family_defaults reads the default job's run too."""
    root = tmp_path_factory.mktemp("readme")
    commands = {"default": (["model=lstm"], None),
                "text_csv": (["dataset=text_csv", f"dataset.path={_reviews_csv(root / 'reviews.csv')}",
                              "dataset.text_column=review", "dataset.label_column=sentiment", "model=conv1d",
                              "trainer.epochs=8", "dataset.sequence_length=16", "trainer.lr=0.01"], None)}
    try:
        data = request.getfixturevalue("shared_datasets")
        commands["etth1"] = (["dataset=etth1", "model=gru", "trainer.epochs=2", "dataset.limit=128", "model.units=8"],
                             {"SEQLAB_DATA_DIR": str(data)})
    except pytest.skip.Exception:
        pass
    runs = {name: (root / name, Started(args + [f"hydra.run.dir={root / name}"], root / name, env=env))
            for name, (args, env) in commands.items()}
    yield runs
    for _, started in runs.values():
        if started.proc.poll() is None:
            started.proc.kill()
            started.proc.wait()


def finished_readme_run(readme_runs, name):
    """(run directory, CompletedProcess, metrics.json) of one README run, once it exited 0."""
    run_dir, started = readme_runs[name]
    r = started.result()
    assert r.returncode == 0, r.stderr[-3000:]
    return run_dir, r, json.loads((run_dir / "metrics.json").read_text())


@pytest.mark.slow
def test_readme_default_run_beats_baseline(readme_runs):
    run_dir, r, m = finished_readme_run(readme_runs, "default")
    assert m["test"]["mse"] < 0.5 * m["baseline"]["mse"]
    assert "baseline" in r.stdout and str(run_dir) in r.stdout
    for f in ("history.csv", "model.keras", ".hydra/config.yaml"):
        assert (run_dir / f).exists()
    assert list((run_dir / "tb").rglob("events.out.tfevents.*"))


@pytest.mark.slow
def test_readme_etth1_gru(readme_runs, shared_datasets):
    _, _, m = finished_readme_run(readme_runs, "etth1")
    assert m["dataset"] == "etth1" and m["examples"]["test"] == 128 and m["epochs"] == 2


@pytest.mark.slow
def test_readme_text_csv_conv1d(readme_runs):
    _, _, m = finished_readme_run(readme_runs, "text_csv")
    assert m["task"] == "binary" and m["test"]["accuracy"] > 0.8


@pytest.mark.slow
def test_wheel_install_runs_from_another_directory(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(REPO)], check=True, capture_output=True, timeout=300)
    (whl,) = wheels.glob("seqlab-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert "seqlab/conf/config.yaml" in names and "seqlab/conf/model/lstm.yaml" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(whl)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(target)}
    r = subprocess.run([sys.executable, "-c", "import seqlab; print(seqlab.__file__)"], cwd=elsewhere,
                       env=dict(os.environ, **env), capture_output=True, text=True)
    assert str(target) in r.stdout
    r = seqlab("model=gru", "model.units=8", "trainer.epochs=1", "dataset.limit=64", cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    (metrics,) = (elsewhere / "outputs").rglob("metrics.json")
    assert json.loads(metrics.read_text())["model"] == "gru"


ENV_TEST = """
import os
from pathlib import Path

def test_shared_datasets(shared_datasets):
    assert shared_datasets == Path(os.environ["SEQLAB_DATA_DIR"]).resolve()
"""


def test_shared_datasets_follows_seqlab_data_dir(tmp_path):
    # the real conftest beside a one-test file, in a pytest of its own (an empty ini: none of the repo's options)
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tmp_path / "test_env.py").write_text(ENV_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    data = tmp_path / "datasets"
    data.mkdir()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)], cwd=tmp_path,
                       env=dict(os.environ, SEQLAB_DATA_DIR=str(data)), capture_output=True, text=True)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-2000:]


# --- run directories: one per run, locked while in use, errors in one line ---

def test_unique_dir_takes_the_first_free_name_once_per_process(tmp_path):
    from seqlab.rundir import unique_dir

    base = tmp_path / "2026-01-01" / "12-00-00"
    base.mkdir(parents=True)  # another run started in this second
    (tmp_path / "2026-01-01" / "12-00-00-1").write_text("")  # a file is no run directory either
    got = unique_dir(str(base))
    assert got == f"{base}-2" and Path(got).is_dir()
    assert unique_dir(str(base)) == got  # Hydra resolves hydra.run.dir again: the same directory


def test_two_runs_claiming_the_same_name_get_two_directories(tmp_path):
    # the default's mechanism with a fixed name, so that both collide; a failing config keeps it fast (no TF)
    args = [sys.executable, "-m", "seqlab", "hydra.run.dir=${seqlab_unique:outputs/same}", "trainer.lr=-1"]
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [2, 2]
    dirs = sorted(p.name for p in (tmp_path / "outputs").iterdir())
    assert dirs == ["same", "same-1"]
    for d in dirs:  # each run logged its own error in its own directory
        assert "trainer.lr" in (tmp_path / "outputs" / d / "cli.log").read_text()


HOLD_LOCK = """
import sys, time
from seqlab import rundir
rundir.lock(sys.argv[1], "python -m seqlab (the holder)")
print("locked", flush=True)
time.sleep(120)
"""


def test_a_locked_run_directory_refuses_a_second_process_at_once(tmp_path):
    from seqlab import rundir

    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = seqlab(f"hydra.run.dir={tmp_path}", "trainer.epochs=1", timeout=60)
        assert r.returncode == 1
        err = r.stderr.strip()
        assert err.startswith("error: run directory") and len(err.splitlines()) == 1, err
        assert f"pid {holder.pid} " in err and "the holder" in err
        assert not (tmp_path / ".hydra").exists() and not (tmp_path / "cli.log").exists()
    finally:
        holder.kill()  # SIGKILL: the kernel releases the lock, so the directory can be resumed
        holder.wait()
    rundir.lock(tmp_path, "pytest")


@pytest.mark.parametrize("where", ["sysfs", "file_as_parent", "file_as_dir"])
def test_unusable_run_directory_is_one_line_naming_it(where, tmp_path):
    (tmp_path / "afile").write_text("")
    run_dir = {"sysfs": f"/sys/seqlab-test-{os.getpid()}", "file_as_parent": str(tmp_path / "afile" / "run"),
               "file_as_dir": str(tmp_path / "afile")}[where]
    r = seqlab(f"hydra.run.dir={run_dir}", "trainer.epochs=1", timeout=60)
    assert r.returncode == 1
    err = r.stderr.strip()
    assert err.startswith("error: cannot use the run directory") and len(err.splitlines()) == 1, err
    assert run_dir in err and "Traceback" not in r.stdout + r.stderr


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


@pytest.mark.slow
def test_runs_started_together_get_their_own_directories(tmp_path):
    args = [sys.executable, "-m", "seqlab", "dataset.limit=64", "trainer.epochs=1", "model.units=4",
            "trainer.tensorboard.enabled=false"]
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    metrics = sorted((tmp_path / "outputs").rglob("metrics.json"))
    assert len(metrics) == 2 and metrics[0].parent != metrics[1].parent
    for m in metrics:
        assert json.loads(m.read_text())["status"] == "completed"
        assert (m.parent / ".hydra" / "config.yaml").exists()
    from seqlab import report

    df = report.collect(tmp_path / "outputs")  # reads .hydra/config.yaml, which the CLI now writes itself
    assert len(df) == 2 and set(df["model.name"]) == {"lstm"}


@pytest.mark.slow
def test_a_busy_run_is_not_disturbed_by_a_second_on_its_directory(tmp_path):
    first = subprocess.Popen([sys.executable, "-m", "seqlab", f"hydra.run.dir={tmp_path}", "trainer.epochs=200",
                              "dataset.limit=64", "trainer.verbose=0"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        _wait_for(tmp_path / ".hydra" / "config.yaml", first)
        start = time.monotonic()
        r = seqlab(f"hydra.run.dir={tmp_path}", "trainer.epochs=1", timeout=120)
        assert time.monotonic() - start < 60  # at once: before TensorFlow, before training
        assert r.returncode == 1 and f"pid {first.pid} " in r.stderr, r.stderr[-2000:]
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


@pytest.mark.slow
def test_refused_rerun_keeps_the_recorded_config_and_logs_the_error(tmp_path):
    base = [f"hydra.run.dir={tmp_path}", "dataset.limit=64", "trainer.epochs=1", "trainer.tensorboard.enabled=false"]
    assert seqlab_main(*base, "model.units=4", cwd=REPO).returncode == 0
    recorded = {f: (tmp_path / ".hydra" / f).read_bytes() for f in ("config.yaml", "overrides.yaml", "hydra.yaml")}
    r = seqlab_main(*base, "model.units=8", cwd=REPO)
    assert r.returncode == 2 and "model.units: 4 -> 8" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert {f: (tmp_path / ".hydra" / f).read_bytes() for f in recorded} == recorded
    assert "model.units: 4 -> 8" in (tmp_path / "cli.log").read_text()


@pytest.mark.slow
def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "seqlab", f"hydra.run.dir={tmp_path}", "dataset.limit=64"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(tmp_path / "cli.log", proc)  # Hydra is done, TensorFlow is loading
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "error: interrupted during start-up" in err and "Traceback" not in err


def _readme_commands(section: str):
    """The command lines (comments stripped) of the bash blocks in one `## section` of the README."""
    text = (REPO / "README.md").read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_quickstart_and_both_test_tiers():
    ci = [line.split(" || ")[0] for line in (REPO / ".ci" / "run").read_text().splitlines()]
    install, tests = _readme_commands("Quickstart")
    fast, slow = _readme_commands("Development")
    assert "pip install -e \".[test]\"" in install and install.endswith("python -m seqlab")
    # the fast tier in two processes (pytest-xdist, a test file per process), the slow tier in one: its tests start
    # servers, workers and timed subprocesses of their own
    assert tests == fast and fast == slow.replace(" -m slow", " -n 2 --dist loadfile")
    assert [c for c in ci if c in (install, fast, slow)] == [install, fast, slow]


def test_a_swallowed_start_up_ctrl_c_still_stops_the_run_before_training():
    """SIGINT is remembered by the CLI's handler, so one lost inside native code (TensorFlow's import) still ends
    the run at the first training callback, as 'interrupted during start-up' (not started)."""
    import signal as sig

    from seqlab import cli

    previous = sig.getsignal(sig.SIGINT)
    state = {"started": False, "interrupted": False}
    try:
        cli._remember_interrupts(state)
        with pytest.raises(KeyboardInterrupt):
            sig.raise_signal(sig.SIGINT)
    finally:
        sig.signal(sig.SIGINT, previous)
    assert state["interrupted"]
    flag = cli._start_flag(state)
    with pytest.raises(KeyboardInterrupt):
        flag.on_train_begin()
    assert not state["started"]
    cli._start_flag(clean := {"started": False, "interrupted": False}).on_train_begin()
    assert clean["started"]
