"""Every command shown in a ```bash block of README.md and docs/**/*.md runs, with tiny overrides appended.

Commands are found in the files themselves, so a new one is tested the day it is written. Each doc file gets a
workspace of its own (a temp folder with docs/examples' files in it); its commands run there in order, so a
`seqlab report outputs` sees the runs the page trained before it. Placeholders are filled from the workspace:
`outputs/<date>/<time>`, `RUN_DIR` or `RUN` is the page's latest run of the right kind (or a small run trained for
it), and a data file the page names but never creates (`reviews.csv`, `meter.csv`, `new.csv`, `*_TRAIN.ts`) is
generated with the columns the command names. Training commands get `trainer.epochs=1 dataset.limit=200` (and one
trial per sweep; a backtest's `--refit K` one retraining). A command this test does not know how to run fails
it: teach `run_command` about it.

Most commands run in this process (TensorFlow imported once); the Quickstart, tf.distribute commands, benchmarks
and shell pipelines run as real subprocesses. A training command that an earlier page ran already (the same arguments
in the same folder on the same files) is not trained twice: that page's runs are copied into the workspace.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd
import pytest
import yaml
from inprocess import seqlab_main

REPO = Path(__file__).resolve().parents[1]
TINY = {"trainer.epochs": "1", "dataset.limit": "200", "trainer.verbose": "0"}
ONE_TRIAL = {"sweep.max_trials": "1", "sweep.executions_per_trial": "1"}
SETUP = re.compile(r"^(python3? -m venv |\. \.venv/bin/activate|pip install |apt-get install )")
SHELL_TOOLS = ("zcat", "cat", "head", "tail", "ls", "mkdir", "cp", "gzip")
RUN_PLACEHOLDER = re.compile(r"^(outputs/<date>/<time>|RUN_DIR|RUN|<run[_ ]dir>)$")
NOT_RUN = {  # command pattern -> why it is not run here, and what covers it instead
    r"^python docs/screenshots\.py": "needs a headless Chromium; it only takes the docs' pictures",
}


def doc_files() -> List[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def commands(path: Path) -> List[str]:
    """The command lines of the file's ```bash blocks: continuations joined, comments dropped."""
    out = []
    for block in re.findall(r"^```(?:bash|sh|shell|console)\n(.*?)^```", path.read_text(), re.S | re.M):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            line = re.split(r"\s+#\s", " " + line, maxsplit=1)[0].strip() if not line.startswith("#") else ""
            if line:
                out.append(line)
    return out


def test_commands_are_found_in_the_docs():
    found = {p.name: commands(p) for p in doc_files()}
    assert sum(map(len, found.values())) >= 20, found
    assert any(c.startswith("python -m seqlab") for c in found["README.md"])


# --------------------------------------------------------------------------- workspace
@dataclass
class Workspace:
    """One doc file's folder, its current directory (`cd`), environment and the runs its commands trained."""

    root: Path
    data_dir: Path
    cwd: Path = None
    runs: List[Path] = field(default_factory=list)
    sweeps: int = 0
    clusters: set = field(default_factory=set)
    log: List[str] = field(default_factory=list)

    def __post_init__(self):
        self.cwd = self.root
        examples = REPO / "docs" / "examples"
        if examples.is_dir():
            shutil.copytree(examples, self.root / "docs" / "examples")
            for f in examples.iterdir():  # README's `model.builder=my_models:tcn` from the repo root
                if f.is_file():
                    shutil.copy(f, self.root / f.name)

    def env(self) -> Dict[str, str]:
        return dict(os.environ, SEQLAB_DATA_DIR=str(self.data_dir), PYTHONPATH=os.pathsep.join(
            [str(REPO), str(self.cwd), os.environ.get("PYTHONPATH", "")]), TF_CPP_MIN_LOG_LEVEL="2")

    def new_runs(self, before: set) -> List[Path]:
        now = {p.parent for p in self.root.rglob("metrics.json")}
        return sorted(now - before, key=lambda p: p.stat().st_mtime)


def _runs(ws: Workspace) -> set:
    return {p.parent for p in ws.root.rglob("metrics.json")}


# --------------------------------------------------------------------------- generated files
def _series_csv(path: Path, time_column: str = "timestamp", rows: int = 600) -> None:
    t = np.arange(rows)
    pd.DataFrame({time_column: pd.date_range("2024-01-01", periods=rows, freq="h").astype(str),
                  "load": 10 + 3 * np.sin(t / 7) + 0.1 * np.cos(t / 3), "temp": -5 + np.cos(t / 11)}
                 ).to_csv(path, index=False)


def _reviews(n: int = 300):
    rng = np.random.default_rng(0)
    good, bad = ["great", "wonderful", "loved", "superb"], ["awful", "boring", "hated", "dull"]
    words = ["the", "film", "plot", "was", "and", "acting", "a", "story"]
    for i in range(n):
        label = i % 2
        text = " ".join(rng.choice(words, 6).tolist() + [rng.choice(good if label else bad)] * 2)
        yield text, "pos" if label else "neg"


def _text_csv(path: Path, text_column: str, label_column: str) -> None:
    rows = list(_reviews())
    pd.DataFrame({text_column: [t for t, _ in rows], label_column: [y for _, y in rows]}).to_csv(path, index=False)


def _make_training_file(ws: Workspace, args: Dict[str, str], key: str, value: str) -> None:
    """A data file a training command names but the page never creates."""
    path = ws.cwd / value
    if path.exists() or os.path.isabs(value):
        return
    if key == "dataset.path" and args.get("dataset") == "text_csv":
        _text_csv(path, args.get("dataset.text_column", "text"), args.get("dataset.label_column", "label"))
    elif key == "dataset.path":
        _series_csv(path, args.get("dataset.time_column", "timestamp"))
    elif key in ("dataset.train_path", "dataset.test_path") and value.endswith(".ts"):
        from test_uea import write_ts

        write_ts(path, seed=0 if "TRAIN" in value else 1)


def _kind(run: Path) -> Optional[str]:
    """A run's inference kind (series / text / ucr / array); "generated" for a series with no file (sine), whose
    new rows the test could not write."""
    try:
        kind = json.loads((run / "inference.json").read_text())["kind"]
        dataset = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())["dataset"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return "generated" if kind == "series" and not (dataset.get("path") or dataset.get("file")) else kind


def _run_for(ws: Workspace, kind: str) -> Path:
    """The page's latest run of `kind` (series / text), else a small one trained now as the README shows."""
    for run in reversed(ws.runs):
        if _kind(run) == kind:
            return run
    if kind == "text":
        _text_csv(ws.root / "fixture_reviews.csv", "review", "sentiment")
        args = ["dataset=text_csv", f"dataset.path={ws.root / 'fixture_reviews.csv'}", "dataset.text_column=review",
                "dataset.label_column=sentiment", "model=conv1d"]
    else:
        _series_csv(ws.root / "fixture_meter.csv")
        args = ["dataset=csv", f"dataset.path={ws.root / 'fixture_meter.csv'}", "dataset.time_column=timestamp"]
    run = ws.root / f"fixture_{kind}"
    r = seqlab_main(*args, *[f"{k}={v}" for k, v in TINY.items()], f"hydra.run.dir={run}", cwd=ws.cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    ws.runs.append(run)
    return run


def _make_predict_input(ws: Workspace, run: Path, name: str) -> None:
    """An input for `seqlab predict`: the last rows of the run's own training file (series), or reviews (text)."""
    path = ws.cwd / name
    if path.exists():
        return
    if _kind(run) == "text":
        path.write_text("\n".join(t for t, _ in list(_reviews(20))) + "\n")
        return
    from omegaconf import OmegaConf

    dcfg = OmegaConf.load(run / ".hydra" / "config.yaml").dataset
    source = ws.cwd / dcfg.path if dcfg.get("path") else ws.data_dir / dcfg.file  # a relative path: the page's folder
    pd.read_csv(source).tail(300).to_csv(path, index=False)


def _ensure_runs(ws: Workspace, folder: str) -> None:
    """A page that shows `tensorboard --logdir outputs` or `seqlab report outputs` without training first: a
    small run there (or a one-trial sweep, for a sweeps/ folder)."""
    if folder.startswith("sweeps") and not list(ws.cwd.glob("sweeps/*/*/0")):
        _seqlab(ws, ["-m", "sweep=lr"])
    elif not folder.startswith("sweeps") and not list((ws.cwd / folder).rglob("metrics.json")):
        _seqlab(ws, [])


# --------------------------------------------------------------------------- one command
def _split_overrides(args: List[str]) -> Dict[str, str]:
    return dict(a.split("=", 1) for a in args if "=" in a and not a.startswith("-"))


CAPS = {"sweep.confirm_top": 1, "sweep.confirm_seeds": 2}  # a sweep's confirmation step, kept but small
MULTIRUN_VALUES = 2  # a multirun's comma list keeps its first values: model=lstm,gru,conv1d -> model=lstm,gru


# a multirun over an ETT set (COMPARE.md's model x seed grid, the slowest commands of the docs): short windows
SHORT_WINDOWS = {"dataset.input_len": "24", "dataset.horizon": "4"}


def _short_windows(args: List[str], multirun: bool) -> dict:
    """SHORT_WINDOWS for a multirun on a real window-forecasting set whose windows the command leaves alone (a
    preset or patch may need its own lengths)."""
    from seqlab.registry import registry

    keys = {a.partition("=")[0].lstrip("+") for a in args}
    dataset = next((a.partition("=")[2] for a in args if a.startswith("dataset=")), None)
    if not multirun or dataset in (None, "sine", "csv") or keys & {"experiment", "model.patch", *SHORT_WINDOWS}:
        return {}
    return SHORT_WINDOWS if registry("dataset").get(dataset).has("window_forecasting") else {}


def _tiny(args: List[str], multirun: bool) -> List[str]:
    """The command's arguments with the tiny overrides in place of its own values for those keys."""
    extra = dict(TINY, **(ONE_TRIAL if multirun and any(a.startswith("sweep=") for a in args) else {}))
    extra.update(_short_windows(args, multirun))
    kept = []
    for a in args:
        key, _, value = a.partition("=")
        if key.lstrip("+") in extra:
            continue
        if key in CAPS and value.isdigit():
            a = f"{key}={min(int(value), CAPS[key])}"
        elif multirun and "," in value and not value.startswith(("[", "{", "'", '"')):
            a = f"{key}={','.join(value.split(',')[:MULTIRUN_VALUES])}"
        kept.append(a)
    return kept + [f"{k}={v}" for k, v in extra.items()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _subprocess(ws: Workspace, argv: List[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ws.cwd, env=ws.env(), capture_output=True, text=True, timeout=timeout)


def _together(ws: Workspace, argvs: List[List[str]], timeout: float = 300) -> None:
    """Start every process, wait for all; each must exit 0 (a cluster's workers, a sweep's chief and worker)."""
    procs = [subprocess.Popen(a, cwd=ws.cwd, env=ws.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for a in argvs]
    try:
        outs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, (p.args, out[-2000:], err[-3000:])


def _multi_worker(ws: Workspace, args: List[str]) -> None:
    """A tf.distribute cluster: every listed worker, each on a free loopback port, as processes side by side."""
    workers = re.search(r"trainer\.cluster\.workers=\[([^\]]*)\]", " ".join(args)).group(1).split(",")
    ports = [_free_port() for _ in workers]
    cluster = f"trainer.cluster.workers=[{','.join(f'localhost:{p}' for p in ports)}]"
    base = [a for a in args if not a.startswith(("trainer.cluster.workers=", "trainer.cluster.task_index="))]
    run_dir = ws.root / f"cluster{len(ws.runs)}"
    _together(ws, [[sys.executable, "-m", "seqlab", *base, cluster, f"trainer.cluster.task_index={i}",
                    f"hydra.run.dir={run_dir}-{i}"] for i in range(len(workers))])


def _distributed_sweep(ws: Workspace, args: List[str]) -> None:
    """The chief's command and a worker's, against an oracle on a free loopback port."""
    port = _free_port()
    base = [a for a in args if not a.startswith(("sweep.distributed.", "hydra.sweep.dir="))]
    common = [*base, "sweep.distributed.oracle_ip=127.0.0.1", f"sweep.distributed.oracle_port={port}",
              f"hydra.sweep.dir={ws.root / 'shared_sweep'}"]
    _together(ws, [[sys.executable, "-m", "seqlab", *common, "sweep.distributed.role=chief"],
                   [sys.executable, "-m", "seqlab", *common, "sweep.distributed.role=worker",
                    "sweep.distributed.tuner_id=worker-1"]])


def _seqlab(ws: Workspace, argv: List[str], subprocess_run: bool = False) -> None:
    """`seqlab ...` / `python -m seqlab ...`: in this process, or as a subprocess."""
    sub = argv[0] if argv else ""
    if sub in ("predict", "export"):
        args = list(argv)
        inputs = [a for a in args[2:] if not a.startswith("-")] if sub == "predict" else []
        kind = "text" if inputs and inputs[0].endswith(".txt") else "series"
        if RUN_PLACEHOLDER.match(args[1]):
            latest = [r for r in reversed(ws.runs) if _kind(r) in ("series", "text")]
            run = latest[0] if sub == "export" and latest else _run_for(ws, kind)
            if sub == "predict" and _kind(run) != kind:
                run = _run_for(ws, kind)
            args[1] = str(run)
        if sub == "predict":
            _make_predict_input(ws, Path(args[1]), inputs[0])
        if _knows_overwrite(sub):  # the page's examples may write the same file twice: each stands alone
            args.append("--overwrite")
        r = _subprocess(ws, [sys.executable, "-m", "seqlab", *args]) if subprocess_run else \
            seqlab_main(*args, cwd=ws.cwd)
    elif sub == "report":
        _ensure_runs(ws, argv[1])
        r = seqlab_main(*argv, cwd=ws.cwd)
    elif re.fullmatch(r"[a-z_]+", sub):  # another subcommand (compare, ...): on what the page made before it
        r = seqlab_main(*_one_refit(argv), cwd=ws.cwd)
    elif "--help" in argv or "-h" in argv or "--cfg" in argv:
        r = seqlab_main(*argv, cwd=ws.cwd)
    else:
        multirun = "-m" in argv or "--multirun" in argv
        overrides = _split_overrides(argv)
        for key, value in overrides.items():
            _make_training_file(ws, overrides, key, value)
        args = _tiny(argv, multirun)
        if multirun and not any(a.startswith("hydra.sweep.dir=") for a in args):
            ws.sweeps += 1
            args.append(f"hydra.sweep.dir=sweeps/doc/{ws.sweeps}")
        cluster = overrides.get("trainer.distribute") == "multi_worker" or "sweep.distributed.role" in overrides
        if cluster:  # one line per machine: the first runs them all, side by side
            same = " ".join(a for a in args if not a.startswith(("trainer.cluster.task_index=", "sweep.distributed.",
                                                                  "hydra.sweep.dir=")))
            if same not in ws.clusters:
                ws.clusters.add(same)
                (_multi_worker if "sweep.distributed.role" not in overrides else _distributed_sweep)(ws, args)
            return
        key = _training_key(ws, args)
        if _copy_earlier_runs(ws, key):
            return
        before = _runs(ws)
        if subprocess_run or overrides.get("trainer.distribute"):  # tf.distribute sets devices up before TF starts
            r = _subprocess(ws, [sys.executable, "-m", "seqlab", *args])
        else:
            r = seqlab_main(*args, cwd=ws.cwd)
        made = ws.new_runs(before)
        ws.runs.extend(made)
        if r.returncode == 0 and "Traceback" not in r.stderr:
            sweep = next((a.partition("=")[2] for a in args if a.startswith("hydra.sweep.dir=")), None)
            TRAINED[key] = (ws.root, [ws.cwd / sweep] if multirun and sweep else made, made)
    assert r.returncode == 0, (argv, r.stdout[-2000:], r.stderr[-3000:])
    assert "Traceback" not in r.stderr, r.stderr[-3000:]


# a training command that an earlier page ran with the same arguments, in the same folder, on the same files: what it
# made there ({key: (that page's root, the folders it made, its runs)}), copied into the next page instead of trained
# again (README.md and getting-started.md show several of the same commands)
TRAINED: Dict[tuple, tuple] = {}


def _training_key(ws: Workspace, args: List[str]) -> tuple:
    import hashlib

    files = []
    for a in args:
        value = a.partition("=")[2]
        path = ws.cwd / value if value and not value.startswith(("[", "{")) else None
        if path is not None and path.is_file():
            files.append((value, hashlib.sha256(path.read_bytes()).hexdigest()))
    return tuple(args), ws.cwd.relative_to(ws.root).as_posix(), tuple(files)


def _copy_earlier_runs(ws: Workspace, key: tuple) -> bool:
    """The runs an earlier page's identical command made, copied to the same places in this page (True), or False
    where none did (or this page has those folders already: a command shown twice on a page runs twice)."""
    root, folders, runs = TRAINED.get(key, (ws.root, [], []))
    targets = [ws.root / f.relative_to(root) for f in folders]
    if root == ws.root or not folders or any(t.exists() for t in targets):
        return False
    for folder, target in zip(folders, targets):
        shutil.copytree(folder, target)
    ws.runs.extend(ws.root / r.relative_to(root) for r in runs)
    ws.log.append(f"copied from an earlier page: {len(runs)} run(s) of the same command")
    return True


def _one_refit(argv: List[str]) -> List[str]:
    """`seqlab backtest RUN --refit K` over K windows (not the default 10): one retraining process, not two
    (tests/test_backtest.py retrains twice)."""
    if argv[0] != "backtest" or "--refit" not in argv or "--windows" in argv:
        return argv
    k = argv[argv.index("--refit") + 1]
    return [*argv, "--windows", k] if k.isdigit() else argv


def _knows_overwrite(sub: str) -> bool:
    from seqlab.inference import export, predict_cli

    module = predict_cli if sub == "predict" else export
    return "--overwrite" in Path(module.__file__).read_text()


def _tensorboard_inspect(logdir: Path) -> None:
    import contextlib
    import io

    from tensorboard import program

    tb = program.TensorBoard()
    tb.configure(argv=[None, "--logdir", str(logdir), "--inspect"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = tb.main()
    assert code == 0 and "Found event files" in out.getvalue(), out.getvalue()[-2000:]


def run_command(ws: Workspace, line: str, first_seqlab: bool) -> None:
    """Run one documented command line in the workspace, or fail naming it."""
    for pattern, why in NOT_RUN.items():
        if re.search(pattern, line):
            ws.log.append(f"not run ({why}): {line}")
            return
    if " && " in line and SETUP.match(line):  # the Quickstart: the install (CI runs it: .ci/run), then the job
        assert line in (REPO / ".ci" / "run").read_text(), f"{line!r} is not run by .ci/run"
        parts = line.split(" && ")
        line = parts[-1]
        first_seqlab = True
        if SETUP.match(line):
            return
    if SETUP.match(line):
        ws.log.append(f"set-up, not run: {line}")
        return
    words = shlex.split(line)
    env = {}
    while words and re.match(r"^[A-Z_]+=", words[0]):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    if not words:
        pytest.fail(f"nothing to run in {line!r}")
    if words[0] == "cd" and len(words) == 2:
        ws.cwd = (ws.cwd / words[1]).resolve() if (ws.cwd / words[1]).is_dir() else ws.cwd
        assert ws.cwd.is_dir(), line
        return
    if words[:3] == ["python", "-m", "pytest"]:
        assert line in (REPO / ".ci" / "run").read_text(), f"{line!r}: the test suite runs in CI (.ci/run) only"
        return
    if words[:3] == ["python", "-m", "seqlab"] or words[0] == "seqlab":
        argv = words[3:] if words[0] == "python" else words[1:]
        return _seqlab(ws, argv, subprocess_run=first_seqlab)
    if words[0] == "tensorboard":  # the server's own check of the folder (--inspect), in this process
        logdir = words[words.index("--logdir") + 1]
        _ensure_runs(ws, logdir)
        matches = sorted(ws.cwd.glob(re.sub(r"<[^>]+>|\d{4}-\d\d-\d\d|\d\d-\d\d-\d\d", "*", logdir)))
        assert matches, f"{line}: nothing under {logdir}"
        _tensorboard_inspect(matches[-1])
        return
    if words[0] == "python" and ">" in words and words.index(">") == len(words) - 2:  # a generator: docs pages
        target = ws.root / "generated" / words[-1]
        target.parent.mkdir(parents=True, exist_ok=True)
        script = [REPO / words[1]] if not words[1].startswith("-") else words[1:3]
        rest = words[2:-2] if not words[1].startswith("-") else words[3:-2]
        r = subprocess.run([sys.executable, *map(str, script), *rest], cwd=REPO, env=ws.env(), capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0 and r.stdout.strip(), (line, r.stderr[-3000:])
        target.write_text(r.stdout)
        return
    if words[0] == "python" and len(words) > 1 and words[1].startswith("benchmarks/"):
        r = _subprocess(ws, [sys.executable, str(REPO / words[1]), *words[2:], *[f"{k}={v}" for k, v in TINY.items()]],
                        timeout=600)
        assert r.returncode == 0, (line, r.stdout[-2000:], r.stderr[-3000:])
        return
    if words[0] == "mkdocs" and words[1:2] == ["build"]:
        r = subprocess.run(["mkdocs", *words[1:], "--site-dir", str(ws.root / "site")], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, (line, r.stderr[-3000:])
        return
    if words[0] in SHELL_TOOLS:
        shell = line.replace("../shared/datasets", str(ws.data_dir))
        r = subprocess.run(["bash", "-o", "pipefail", "-c", shell], cwd=ws.cwd, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0 or words[0] == "zcat" and "Broken pipe" in r.stderr, (line, r.stderr[-2000:])
        return
    pytest.fail(f"tests/test_doc_commands.py does not know how to run this documented command: {line!r} "
                "(teach run_command about it)")


@pytest.mark.slow
@pytest.mark.parametrize("doc", [p.relative_to(REPO).as_posix() for p in doc_files()])
def test_every_documented_command_runs(doc, tmp_path, shared_datasets):
    lines = commands(REPO / doc)
    if not lines:
        pytest.skip(f"{doc} shows no command")
    ws = Workspace(tmp_path, shared_datasets)
    seen, first = set(), doc == "README.md"
    start = time.monotonic()
    for line in lines:
        if line in seen:  # the same command again (a resume shown twice runs twice: it names its run directory)
            if "hydra.run.dir=" not in line:
                continue
        seen.add(line)
        t0 = time.monotonic()
        run_command(ws, line, first_seqlab=first and line.startswith(("python -m seqlab", "seqlab")))
        ws.log.append(f"{time.monotonic() - t0:.0f} s: {line[:70]}")
        if line.startswith(("python -m seqlab", "seqlab")):
            first = False
    print(f"\n{doc}: {len(lines)} commands in {time.monotonic() - start:.0f} s\n  " + "\n  ".join(ws.log))
