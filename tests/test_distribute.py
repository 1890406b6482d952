"""trainer.distribute: config checks, mirrored replicas equal one device, a two-worker cluster on 127.0.0.1."""

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqlab.config import ConfigError, compose, validate
from seqlab.config.cluster import cluster_of, local_workers

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset=sine", "dataset.length=300", "dataset.input_len=12", "dataset.horizon=2", "model=gru",
        "model.units=4", "trainer.batch_size=20", "trainer.verbose=2"]
MULTI = ["trainer=tape", "trainer.distribute=multi_worker"]


# --------------------------------------------------------------------------- config (no TensorFlow)
@pytest.mark.parametrize("overrides, key, words", [
    (["trainer.distribute=multi_worker"], "trainer:", "trainer=tape"),
    (MULTI, "trainer.cluster.workers:", "TF_CONFIG"),
    (MULTI + ["trainer.cluster.workers=[127.0.0.1:1,127.0.0.1:2]"], "trainer.cluster.task_index:", "0..1"),
    (MULTI + ["trainer.cluster.workers=[localhost]", "trainer.cluster.task_index=0"], "trainer.cluster.workers:",
     "host:port"),
    (["trainer.distribute=mirrored", "trainer.replicas=4", "trainer.batch_size=2"], "trainer.batch_size:",
     "trainer.replicas=4"),
    (["trainer.distribute=mirrored", "trainer.jit_compile=true"], "trainer.jit_compile:", "all-reduce"),
    (["trainer.distribute=mirrors"], "trainer.distribute:", "multi_worker"),
    (["trainer.lr_scaling=sqrt"], "trainer.lr_scaling:", "linear"),
    (MULTI + ["trainer.cluster.workers=[127.0.0.1:1]", "trainer.cluster.task_index=0", "sweep=lr"],
     "trainer.distribute:", "sweep.distributed"),
])
def test_a_combination_that_cannot_work_names_the_key_and_the_fix(overrides, key, words, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError) as e:
        validate(compose(overrides))
    assert str(e.value).startswith(key) and words in str(e.value), str(e.value)


def test_the_cluster_comes_from_the_keys_or_from_tf_config():
    keys = compose(MULTI + ["trainer.cluster.workers=[127.0.0.1:5000,127.0.0.1:5001]",
                            "trainer.cluster.task_index=1"]).trainer.cluster
    c = cluster_of(keys, environ={})
    assert (c.jobs, c.task_type, c.task_index, c.is_chief) == ({"worker": ["127.0.0.1:5000", "127.0.0.1:5001"]},
                                                                "worker", 1, False)
    env = {"TF_CONFIG": json.dumps({"cluster": {"chief": ["h:1"], "worker": ["h:2", "h:3"]},
                                    "task": {"type": "chief", "index": 0}})}
    c = cluster_of(compose(MULTI).trainer.cluster, environ=env)
    assert c.is_chief and c.size == 3 and c.source == "TF_CONFIG"
    with pytest.raises(ConfigError, match="^TF_CONFIG task"):
        cluster_of(compose(MULTI).trainer.cluster, environ={"TF_CONFIG": json.dumps(
            {"cluster": {"worker": ["h:2"]}, "task": {"type": "worker", "index": 3}})})


# --------------------------------------------------------------------------- mirrored: 2 logical CPUs
MIRRORED_SCRIPT = """
import json, sys
from seqlab.config import compose
from seqlab import private
from seqlab.train import distribute, stages
out = {}
# the two-replica run first: it sets up the logical CPUs before TensorFlow's runtime starts
for name, extra in (("two", ["trainer.distribute=mirrored", "trainer.replicas=2"]), ("one", [])):
    cfg = compose(sys.argv[2:] + extra)
    prepared = stages.prepare(cfg)
    callbacks = stages.make_callbacks(cfg, sys.argv[1] + "/" + name, prepared)
    assert stages.fit(prepared, cfg, callbacks).status == "completed"
    out[name] = {"history": callbacks.history.history, "distribute": prepared.placement.describe(),
                 "keras_strategy": type(private.model_strategy(prepared.model)).__name__}
print("CURVES" + json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.parametrize("model", [[], ["model=conv1d", "model.filters=8", "model.batch_norm=true"]],
                         ids=["gru", "conv1d_batch_norm"])
def test_two_mirrored_replicas_give_the_loss_curve_of_one_device(model, tmp_path):
    # 197 windows in batches of 20 end with a short batch (its pieces differ in size): the global-batch loss
    # reduction must still give the single-device gradient. SGD, whose step is proportional to the gradient
    # (Adam's hardly changes when the gradient doubles). With batch norm, the replicas must share the batch's
    # statistics (synchronized), or each normalises its half by its own
    args = [a for a in TINY if not (model and a.startswith("model"))] + model + [
        "trainer=tape", "trainer.epochs=2", "trainer.optimizer=sgd", "trainer.lr=0.1",
        "trainer.tensorboard.enabled=false", "trainer.checkpoint.every=0"]
    r = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path), *args], cwd=REPO,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.split("CURVES", 1)[1])
    two, one = out["two"], out["one"]
    assert two["distribute"] == {"strategy": "mirrored", "replicas": 2}
    assert one["distribute"] == {"strategy": "none", "replicas": 1}
    # the private attribute distribute.detach sets to None under multi_worker
    assert (two["keras_strategy"], one["keras_strategy"]) == ("MirroredStrategy", "NoneType")
    for key in ("loss", "val_loss", "val_mae"):
        assert len(two["history"][key]) == 2
        assert two["history"][key] == pytest.approx(one["history"][key], rel=1e-5), key
    assert one["history"]["loss"][1] < one["history"]["loss"][0]


# --------------------------------------------------------------------------- multi_worker: 2 processes
def _start_cluster(tmp_path: Path, round_: str, epochs: int):
    workers = f"trainer.cluster.workers=[{','.join(local_workers(2))}]"
    procs = []
    for i in range(2):
        log = open(tmp_path / f"{round_}-{i}.log", "w")
        cmd = [sys.executable, "-m", "seqlab", *TINY, *MULTI, workers, f"trainer.cluster.task_index={i}",
               "trainer.cluster.timeout_s=20", f"trainer.epochs={epochs}", "trainer.tensorboard.histogram_freq=0",
               f"hydra.run.dir={tmp_path / f'w{i}'}"]
        procs.append(subprocess.Popen(cmd, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}))
    return procs


def _wait(procs, timeout):
    deadline = time.monotonic() + timeout
    try:
        return [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)


def _digest(log: Path) -> str:
    found = re.findall(r"weights sha256 ([0-9a-f]{64})", log.read_text())
    assert len(found) == 1, log.read_text()[-3000:]
    return found[0]


@pytest.mark.slow
def test_two_workers_train_alike_write_once_stop_when_one_dies_and_resume(tmp_path):
    w0, w1 = tmp_path / "w0", tmp_path / "w1"
    # round 1: kill worker 1 once the chief has written epoch 2; the chief must stop with a clear error
    procs = _start_cluster(tmp_path, "kill", epochs=5)
    try:
        deadline = time.monotonic() + 150
        while not (w0 / "checkpoints" / "epoch-0002.npz").exists():
            assert time.monotonic() < deadline and procs[0].poll() is None, (tmp_path / "kill-0.log").read_text()
            time.sleep(0.2)
        procs[1].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        codes = _wait(procs, timeout=60)
    finally:
        _wait(procs, timeout=1)
    chief_log = (tmp_path / "kill-0.log").read_text()
    assert codes[0] != 0 and "WorkerLost" in chief_log and "restart every worker" in chief_log, chief_log[-3000:]
    print(f"the chief stopped {time.monotonic() - killed:.1f} s after its peer was killed")
    assert json.loads((w0 / "metrics.json").read_text())["status"] == "failed"

    # round 2: the same commands (new ports) resume from the chief's last checkpoint and finish
    started = time.monotonic()
    codes = _wait(_start_cluster(tmp_path, "resume", epochs=5), timeout=180)
    logs = [(tmp_path / f"resume-{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs[0][-2000:] + logs[1][-2000:]
    print(f"resumed cluster: {time.monotonic() - started:.1f} s wall")
    assert re.search(r"resuming from .*epoch-000[2-5]\.npz", logs[0]), logs[0][-3000:]
    assert "resuming from the chief's checkpoint (sent over the cluster)" in logs[1]
    assert _digest(tmp_path / "resume-0.log") == _digest(tmp_path / "resume-1.log")
    metrics = json.loads((w0 / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs"] == 5
    assert metrics["distribute"] == {"strategy": "multi_worker", "replicas": 2, "workers": 2}
    assert (w0 / "model.keras").is_file() and (w0 / "tb").is_dir() and (w0 / "checkpoints").is_dir()
    # the outputs appear once: worker 1's run directory holds its log and Hydra's record only
    written = {p.name for p in w1.iterdir()} - {"cli.log", ".hydra", ".lock", "run.lock"}
    assert not written & {"metrics.json", "model.keras", "history.csv", "tb", "checkpoints"}, written


@pytest.mark.slow
def test_a_sweep_trains_each_trial_under_two_mirrored_replicas(tmp_path):
    # a trial's process starts TensorFlow before its run (HParams): the sweep sets up the logical CPUs first
    cmd = [sys.executable, "-m", "seqlab", "-m", "sweep=lr", "sweep.max_trials=1", *TINY, "trainer=tape",
           "trainer.epochs=1", "trainer.distribute=mirrored", "trainer.replicas=2", f"hydra.sweep.dir={tmp_path}"]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    (found,) = list(tmp_path.rglob("metrics.json"))
    metrics = json.loads(found.read_text())
    assert metrics["status"] == "completed" and metrics["distribute"] == {"strategy": "mirrored", "replicas": 2}


def test_listening_reads_the_kernels_bound_address():
    import socket

    from seqlab.config.cluster import exposure, listening

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert listening(port) == ["127.0.0.1"]
        assert exposure(f"localhost:{port}", listening(port)) is None
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        port = s.getsockname()[1]
        warning = exposure(f"localhost:{port}", listening(port))
        assert f"listens on every interface (0.0.0.0:{port})" in warning and "DISTRIBUTED.md" in warning


EXPOSED = """
import logging, sys
from omegaconf import OmegaConf
logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
from seqlab.config.cluster import listening
from seqlab.train import distribute
address = sys.argv[1]
tcfg = OmegaConf.create({"distribute": "multi_worker", "cluster": {"workers": [address], "task_index": 0,
                                                                    "timeout_s": 5}})
distribute.place(tcfg)
print("BOUND", listening(int(address.rpartition(":")[2])))
"""


@pytest.mark.slow
def test_a_multi_worker_server_says_what_it_really_listens_on(tmp_path):
    """TensorFlow 2.21's gRPC server binds every interface whatever the cluster entry says (no option to bind one
    address): the worker's log must say so, naming the socket's real bound address, read from the kernel."""
    address = local_workers(1)[0].replace("127.0.0.1", "localhost")
    r = subprocess.run([sys.executable, "-c", EXPOSED, address], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert r.returncode == 0, r.stderr[-3000:]
    bound = ast.literal_eval(re.search(r"^BOUND (.*)$", r.stdout, re.M).group(1))
    assert bound, r.stdout
    if set(bound) <= {"127.0.0.1", "::1"}:  # a TensorFlow that binds the named address: nothing to warn about
        assert "listens on every interface" not in r.stdout
    else:
        port = address.rpartition(":")[2]
        every = [f"[{a}]:{port}" if ":" in a else f"{a}:{port}" for a in bound if a in ("0.0.0.0", "::")]
        assert f"({address} in the cluster) listens on every interface ({', '.join(every)})" in r.stdout, r.stdout
