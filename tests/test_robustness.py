"""Damaged files never turn into tracebacks: a corrupt latest checkpoint falls back to the one before it, and
`seqlab report` lists runs whose metrics.json is truncated, failed or interrupted, saying why."""

import json

import numpy as np
import pytest

from seqlab import report
from seqlab.train.checkpoint import CheckpointStore, State


def _state(epoch: int) -> State:
    meta = {"epoch": epoch, "step": 10 * epoch, "stopped": False, "history": {"loss": [1.0] * epoch},
            "callbacks": {}, "rng": {}, "config": {}, "best": None}
    return State(epoch=epoch, meta=meta, arrays={"model.0": np.full(3, float(epoch))})


def test_a_corrupt_latest_checkpoint_is_named_and_the_previous_one_is_used(tmp_path, caplog):
    store = CheckpointStore(tmp_path / "checkpoints", keep=5)
    for epoch in (1, 2, 3):
        store.save(_state(epoch))
    latest = tmp_path / "checkpoints" / "epoch-0003.npz"
    latest.write_bytes(latest.read_bytes()[:100])  # a half-written copy
    state = store.latest()
    assert state.epoch == 2 and state.arrays["model.0"].tolist() == [2.0, 2.0, 2.0]
    assert store.corrupt == [str(latest)] and "epoch-0003.npz is corrupt" in caplog.text


def _run(root, name, metrics, config="model:\n  name: lstm\n"):
    d = root / name
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "config.yaml").write_text(config)
    (d / "metrics.json").write_text(metrics if isinstance(metrics, str) else json.dumps(metrics))
    return d


def test_report_lists_truncated_failed_and_interrupted_runs_with_the_reason(tmp_path, capsys):
    _run(tmp_path, "good", {"status": "completed", "test": {"loss": 0.5}, "epochs": 3})
    _run(tmp_path, "cut", '{"status": "completed", "test": {"lo')
    _run(tmp_path, "failed", {"status": "failed", "error": {"type": "ConfigError", "message": "dataset.path: gone",
                                                            "stage": "prepare"}})
    _run(tmp_path, "stopped", {"status": "interrupted", "signal": "SIGTERM", "checkpoint": "ck/epoch-0002.npz"})
    assert report.main([str(tmp_path)]) == 0
    rows = {r["run"]: r for r in report.collect(tmp_path).to_dict("records")}
    assert rows["cut"]["status"] == "unreadable" and "metrics.json" in rows["cut"]["error"]
    assert rows["failed"]["error"] == "ConfigError in prepare: dataset.path: gone"
    assert rows["stopped"]["error"] == "SIGTERM; resume from ck/epoch-0002.npz"
    assert rows["good"]["status"] == "completed" and rows["good"]["test.loss"] == 0.5
    out = capsys.readouterr().out
    assert "unreadable" in out and "4 runs" in out


def test_an_offline_download_says_which_file_to_place_where(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request

    import pytest

    from seqlab.config import ConfigError
    from seqlab.data import download

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ConfigError) as e:
        download.fetch("ETTh2.csv", "https://example.invalid/ETTh2.csv", "", data_dir=tmp_path / "data",
                       cache=tmp_path / "cache")
    msg = str(e.value)
    assert msg.startswith("dataset.url: could not download ETTh2.csv") and "name resolution" in msg
    assert str(tmp_path / "data") in msg and str(tmp_path / "cache") in msg and "SEQLAB_DATA_DIR" in msg
    assert not list((tmp_path / "cache").glob("*.part"))  # nothing half-written is left


@pytest.mark.slow
def test_a_run_that_fails_after_its_directory_exists_records_status_failed(tmp_path):
    """A real CLI run whose model builder raises: exit non-zero with one error line (no traceback), metrics.json
    says failed with the error and the stage, cli.log holds the error, and `seqlab report` lists it."""
    from inprocess import seqlab_main

    (tmp_path / "broken.py").write_text("def model(cfg, spec):\n    raise RuntimeError('the GPU caught fire')\n")
    run_dir = tmp_path / "run"
    r = seqlab_main("model=custom", "model.builder=broken:model", "dataset.length=300", "trainer.epochs=1",
                    f"hydra.run.dir={run_dir}", cwd=tmp_path)
    if r.returncode == 0:
        pytest.fail(r.stdout[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert "the GPU caught fire" in r.stderr
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["status"] == "failed"
    assert m["error"] == {"type": "RuntimeError", "message": "the GPU caught fire", "stage": "prepare"}
    assert "the GPU caught fire" in (run_dir / "cli.log").read_text()
    rows = report.collect(tmp_path).to_dict("records")
    assert rows[0]["status"] == "failed" and rows[0]["error"] == "RuntimeError in prepare: the GPU caught fire"


def test_a_download_in_a_test_is_refused_with_a_clear_error(tmp_path):
    """tests/conftest.py's no_downloads guard: a dataset missing from data_dir and the cache is not fetched."""
    from conftest import DownloadInTests

    from seqlab.data import download

    with pytest.raises(DownloadInTests, match="tests never download"):
        download.fetch("ETTh2.csv", "https://example.invalid/ETTh2.csv", "", data_dir=tmp_path / "data",
                       cache=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.part"))


def test_the_download_guard_lets_a_test_reach_this_machine():
    """test_tensorboard talks to its own TensorBoard on 127.0.0.1 through urlopen (a Request object)."""
    import http.server
    import threading
    import urllib.request

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{server.server_address[1]}/")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
    finally:
        server.shutdown()
        server.server_close()
