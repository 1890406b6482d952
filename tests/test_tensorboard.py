"""TensorBoard review: tags in the event files for both trainers, the probe leaves training untouched, HParams,
and (slow) a real TensorBoard server listing every dashboard through its HTTP data API."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import metadata as hp_metadata

from seqlab import report
from seqlab.config import ConfigError, compose, validate
from seqlab.train.callbacks import build_callbacks
from seqlab.train.run import prepare, run
from seqlab.train.tensorboard import (
    TensorBoardReview,
    histogram_buckets,
    hparams_from_config,
    metric_tag,
    update_ratios,
    write_hparams_experiment,
)

TINY = ["model=lstm", "model.units=4", "dataset.length=400", "dataset.input_len=12", "dataset.horizon=2",
        "trainer.epochs=2", "trainer.batch_size=32", "trainer.verbose=0", "trainer.checkpoint.every=0",
        "trainer.tensorboard.update_freq=3", "~family"]
EPOCH_TAGS = {"epoch_loss", "epoch_mse", "epoch_mae"}
REVIEW_TAGS = {"optim/learning_rate", "optim/grad_norm", "optim/update_ratio", "speed/samples_per_second",
               "speed/epoch_seconds", "weight_norm/lstm_0", "weight_norm/head", "update_ratio/lstm_0",
               "update_ratio/head", "step/loss", "step/grad_norm", "step/learning_rate", "step/update_ratio"}
HISTOGRAMS = {"lstm_0/lstm_cell/kernel", "lstm_0/lstm_cell/recurrent_kernel", "lstm_0/lstm_cell/bias",
              "head/kernel", "head/bias"}


def train_with(trainer, run_dir, overrides=()):
    """Run the one path with `trainer` (fit or tape)."""
    return run(compose(TINY + [f"trainer={trainer}"] + list(overrides)), run_dir)


def read_tags(logdir: Path):
    """{run: {tag: (plugin, [steps])}} for run in train / validation / summary."""
    out = {}
    for sub in ("train", "validation", "summary"):
        acc = ea.EventAccumulator(str(logdir / sub), size_guidance={ea.TENSORS: 0, ea.GRAPH: 1})
        acc.Reload()
        out[sub] = {t: (acc.SummaryMetadata(t).plugin_data.plugin_name, [e.step for e in acc.Tensors(t)])
                    for t in acc.Tags()["tensors"]}
        out[sub]["__graph__"] = acc.Tags()["graph"]
    return out


@pytest.fixture(scope="module")
def fit_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("fit")
    return d, train_with("fit", d)


@pytest.fixture(scope="module")
def tape_run(tmp_path_factory):
    """A tape run beside fit_run, with other units, so that HParams has a key that differs too (slow tests only)."""
    d = tmp_path_factory.mktemp("tape")
    return d, train_with("tape", d, ["model.units=6"])


def test_fit_writes_every_tag(fit_run):
    d, _ = fit_run
    tags = read_tags(d / "tb")
    train, val, summ = tags["train"], tags["validation"], tags["summary"]
    assert EPOCH_TAGS | REVIEW_TAGS | HISTOGRAMS <= set(train)
    assert EPOCH_TAGS <= set(val) and not any(t.startswith(("optim/", "step/")) for t in val)
    for t in EPOCH_TAGS | {"optim/grad_norm", "speed/samples_per_second"}:
        assert train[t] == ("scalars", [1, 2]), t  # 1-based epochs, like history.csv
    assert train["head/kernel"] == ("histograms", [0, 1, 2])  # 0 = initial weights
    n_steps = 2 * -(-len(prepare(compose(TINY))[0].train) // 32)
    assert train["step/loss"][1] == list(range(3, n_steps + 1, 3))
    assert train["__graph__"] is True and train["keras"][0] == "graph_keras_model"
    assert {"config", "model_summary"} <= set(summ) and summ["config"][0] == "text"
    assert summ[hp_metadata.SESSION_START_INFO_TAG][0] == "hparams"
    assert summ[hp_metadata.SESSION_END_INFO_TAG][0] == "hparams"
    assert {"test/loss", "test/mse", "test/mae", "val/loss", "val/best_epoch"} <= set(summ)


def test_fit_values_match_history_and_metrics(fit_run):
    d, result = fit_run
    acc = ea.EventAccumulator(str(d / "tb" / "validation"), size_guidance={ea.TENSORS: 0})
    acc.Reload()
    val_loss = [float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors("epoch_loss")]
    np.testing.assert_allclose(val_loss, result.history["val_loss"], rtol=1e-6)
    acc = ea.EventAccumulator(str(d / "tb" / "summary"), size_guidance={ea.TENSORS: 0})
    acc.Reload()
    test_mse = float(tf.make_ndarray(acc.Tensors("test/mse")[0].tensor_proto))
    assert test_mse == pytest.approx(json.loads((d / "metrics.json").read_text())["test"]["mse"], rel=1e-6)
    start = hp_metadata.parse_session_start_info_plugin_data(
        acc.SummaryMetadata(hp_metadata.SESSION_START_INFO_TAG).plugin_data.content)
    hps = {k: json.loads(json.dumps(v.number_value if v.HasField("number_value") else
                                    v.string_value if v.HasField("string_value") else v.bool_value))
           for k, v in start.hparams.items()}
    assert hps["model.name"] == "lstm" and hps["model.units"] == 4 and hps["trainer.name"] == "fit"
    lr = compose(TINY + ["trainer=fit"]).trainer.lr  # the dataset family's budget (conf/family/sine_none.yaml)
    assert hps["trainer.lr"] == pytest.approx(lr) and hps["dataset.name"] == "sine"
    assert not any(k.startswith(("trainer.tensorboard", "trainer.checkpoint")) for k in hps)
    layout = layout_pb2.Layout()
    layout.ParseFromString(tf.make_ndarray(acc.Tensors("custom_scalars__config__")[0].tensor_proto).item())
    charts = {c.title: list(c.multiline.tag) for cat in layout.category for c in cat.chart}
    assert charts["loss"] == ["^epoch_loss$"] and charts["mae"] == ["^epoch_mae$"]
    assert charts["learning rate"] == ["^optim/learning_rate$"]
    assert charts["global gradient norm"] == ["^optim/grad_norm$"]

@pytest.mark.slow
def test_tape_trainer_writes_the_same_tags_as_fit(fit_run, tape_run):
    fit_tags, tape_tags = read_tags(fit_run[0] / "tb"), read_tags(tape_run[0] / "tb")
    for sub in ("train", "validation"):
        fit_set = {t for t in fit_tags[sub] if not t.startswith("step/") or t in REVIEW_TAGS}
        assert fit_set == {t for t in tape_tags[sub] if not t.startswith("step/") or t in REVIEW_TAGS}, sub
    assert set(fit_tags["summary"]) == set(tape_tags["summary"])
    assert tape_tags["train"]["__graph__"] is True

@pytest.mark.slow
def test_review_does_not_change_training(tmp_path):
    """Dropout model, op determinism: identical losses with and without the review callback (no RNG consumed)."""
    common = ["regularizer=dropout", "regularizer.recurrent_dropout=0.2", "deterministic=true",
              "trainer.tensorboard.update_freq=1", "trainer.tensorboard.histogram_freq=1"]
    on = train_with("fit", tmp_path / "on", common)
    off = train_with("fit", tmp_path / "off", common + ["trainer.tensorboard.enabled=false"])
    assert on.history["loss"] == off.history["loss"] and on.history["val_loss"] == off.history["val_loss"]
    assert not (tmp_path / "off" / "tb").exists()


def test_probe_leaves_rng_state_alone(tmp_path):
    cfg = compose(TINY + ["regularizer=dropout", "regularizer.recurrent_dropout=0.2"])
    splits, _, model = prepare(cfg)
    cb = TensorBoardReview(cfg, tmp_path, splits)
    cb.set_model(model)
    seeds = [v for v in model.variables if "seed_generator" in v.path]
    assert seeds, "the dropout model should own seed generators"
    before = [v.numpy().copy() for v in seeds], np.random.get_state()[1].copy()
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})
    after = [v.numpy() for v in seeds], np.random.get_state()[1]
    assert all((a == b).all() for a, b in zip(before[0], after[0])) and (before[1] == after[1]).all()


def test_update_ratio_and_names():
    before = {"a": [np.ones(4)], "b": [np.full(9, 2.0)]}
    after = {"a": [np.full(4, 1.5)], "b": [np.full(9, 2.0)]}
    r = update_ratios(before, after)
    assert r["a"] == pytest.approx(0.5) and r["b"] == 0.0
    assert r[""] == pytest.approx(np.sqrt(4 * 0.25) / np.sqrt(4 + 36))
    assert [metric_tag(n) for n in ("val_loss", "test.mse", "test/mae", "loss")] == \
        ["val/loss", "test/mse", "test/mae", "loss"]


def test_numpy_histogram_matches_tensorboards_own():
    from tensorboard.plugins.histogram.summary_v2 import _buckets

    for x in (np.random.default_rng(0).normal(size=(7, 13)).astype("float32"), np.zeros(5, "float32")):
        ours, theirs = histogram_buckets(x), _buckets(tf.constant(x), tf.constant(30)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)


def test_hparams_from_config_flattens_dotted_keys():
    hps = hparams_from_config(compose(["model=gru", "model.units=7", "regularizer=l2", "trainer.clipnorm=1.0"]))
    assert hps["model.name"] == "gru" and hps["model.units"] == 7 and hps["regularizer.l2"] == 1e-4
    assert hps["trainer.clipnorm"] == 1.0 and hps["trainer.batch_size"] == 64 and hps["seed"] == 0
    assert hps["dataset.periods"] == "[24.0, 57.0, 130.0]" and "dataset.limit" not in hps  # None left out
    assert all(isinstance(v, (bool, int, float, str)) for v in hps.values())


def test_write_hparams_experiment(tmp_path):
    space = {"trainer.lr": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log"},
             "model.units": {"type": "int", "min": 8, "max": 64}, "model.name": ["lstm", "gru"]}
    write_hparams_experiment(tmp_path, space, metrics=["val_loss", "test.mse"], cfg=compose([]))
    acc = ea.EventAccumulator(str(tmp_path), size_guidance={ea.TENSORS: 0})
    acc.Reload()
    exp = hp_metadata.parse_experiment_plugin_data(acc.SummaryMetadata(hp_metadata.EXPERIMENT_TAG).plugin_data.content)
    infos = {h.name: h for h in exp.hparam_infos}
    assert infos["trainer.lr"].domain_interval.min_value == pytest.approx(1e-4)
    assert sorted(v.string_value for v in infos["model.name"].domain_discrete.values) == ["gru", "lstm"]
    assert "trainer.batch_size" in infos and "dataset.name" in infos  # the rest of the config, without domain
    assert [m.name.tag for m in exp.metric_infos] == ["val/loss", "test/mse"]
    with pytest.raises(ValueError, match="search-space entry"):
        write_hparams_experiment(tmp_path, {"x": {"type": "nonsense"}})


def test_tensorboard_config_is_validated():
    with pytest.raises(ConfigError, match=r"trainer\.tensorboard\.probe_size: expected a value > 0, got 0"):
        validate(compose(["trainer.tensorboard.probe_size=0"]))
    with pytest.raises(ConfigError, match=r"trainer\.tensorboard\.update_freq"):
        validate(compose(["trainer.tensorboard.update_freq=batch"]))
    cfg = compose(["trainer.tensorboard.enabled=false"])
    assert not any(isinstance(c, TensorBoardReview) for c in build_callbacks(cfg, Path("/nonexistent"), None, None))


# --------------------------------------------------------------------------- a real TensorBoard server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TensorBoardServer:
    """`tensorboard --logdir DIR` on 127.0.0.1 and a free port; stopped (bounded wait) on exit."""

    def __init__(self, logdir: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
                                      "--host", "127.0.0.1", "--port", str(self.port), "--reload_interval", "1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def get(self, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json",
                                                                          "X-TensorBoard-Feature-Flags": "{}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def wait_for(self, fetch, ready, timeout=90.0):
        """Poll `fetch(self)` until `ready(answer)` (TensorBoard loads event files in the background)."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tensorboard exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                last = fetch(self)
                if ready(last):
                    return last
            except (OSError, ValueError, KeyError) as e:  # not listening yet / not loaded yet
                last = e
            time.sleep(0.5)
        raise TimeoutError(f"TensorBoard at {self.url} never got ready; last answer: {last!r}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


def _hparams_experiment(tb):
    return tb.get("/data/plugin/hparams/experiment", {"experimentName": ""})


def _session_groups(tb):
    body = {"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                                      "STATUS_RUNNING"],
            "colParams": [], "startIndex": 0, "sliceSize": 100}
    return tb.get("/data/plugin/hparams/session_groups", body)


@pytest.mark.slow
def test_real_tensorboard_shows_every_dashboard(fit_run, tape_run, tmp_path, monkeypatch, capsys):
    outputs = tmp_path / "outputs"
    shutil.copytree(fit_run[0], outputs / "fit_u4")  # the module's runs: a fit run with 4 units, a tape one with 6
    shutil.copytree(tape_run[0], outputs / "tape_u6")
    assert report.main([str(outputs), "--sort", "test.mse"]) == 0  # the runs report reads the same folders
    table = pd.read_csv(outputs / "report.csv")
    assert set(table["trainer.name"]) == {"fit", "tape"} and set(table["model.units"]) == {4, 6}
    runs = {f"{r}/tb/{sub}" for r in ("fit_u4", "tape_u6") for sub in ("train", "validation", "summary")}
    with TensorBoardServer(outputs) as tb:
        scalars = tb.wait_for(lambda s: s.get("/data/plugin/scalars/tags"), lambda t: runs <= set(t))
        listing = tb.get("/data/plugins_listing")
        for plugin in ("scalars", "custom_scalars", "histograms", "graphs", "text", "hparams"):
            assert listing[plugin]["enabled"], plugin
        for r in ("fit_u4", "tape_u6"):
            assert EPOCH_TAGS | REVIEW_TAGS <= set(scalars[f"{r}/tb/train"])
            assert EPOCH_TAGS <= set(scalars[f"{r}/tb/validation"])
            assert {"test/mse", "val/loss"} <= set(scalars[f"{r}/tb/summary"])
        layout = tb.get("/data/plugin/custom_scalars/layout")
        titles = {c["title"]: c for c in layout["category"]}
        assert "Optimization" in titles and any(t.startswith("Train vs validation") for t in titles)
        hist = tb.get("/data/plugin/histograms/tags")
        assert HISTOGRAMS <= set(hist["fit_u4/tb/train"]) and HISTOGRAMS <= set(hist["tape_u6/tb/train"])
        graphs = tb.get("/data/plugin/graphs/info")
        for r in ("fit_u4", "tape_u6"):
            assert graphs[f"{r}/tb/train"]["run_graph"] is True
        text = tb.get("/data/plugin/text/tags")
        assert {"config", "model_summary"} <= set(text["fit_u4/tb/summary"])
        exp = tb.wait_for(_hparams_experiment, lambda e: e.get("metricInfos"))
        hp_names = {h["name"] for h in exp["hparamInfos"]}
        assert {"model.name", "model.units", "trainer.name", "trainer.lr", "dataset.name"} <= hp_names
        differs = {h["name"] for h in exp["hparamInfos"] if h.get("differs")}
        assert {"model.units", "trainer.name"} <= differs
        metrics = {(m["name"]["tag"], m["name"].get("group", "")) for m in exp["metricInfos"]}
        assert {("test/mse", ""), ("val/loss", "")} <= metrics
        groups = _session_groups(tb)["sessionGroups"]
        assert len(groups) == 2
        assert {g["hparams"]["trainer.name"] for g in groups} == {"fit", "tape"}

    # a sweep folder: experiment-level config with domains from the search space, trials of both trainers
    sweep = tmp_path / "sweep"
    write_hparams_experiment(sweep, {"model.units": {"type": "int", "min": 4, "max": 8}},
                             metrics=["val_loss", "test.mse"], cfg=compose(TINY))
    shutil.copytree(outputs / "fit_u4", sweep / "0")
    shutil.copytree(outputs / "tape_u6", sweep / "1")
    with TensorBoardServer(sweep) as tb:
        exp = tb.wait_for(_hparams_experiment, lambda e: e.get("hparamInfos"))
        units = next(h for h in exp["hparamInfos"] if h["name"] == "model.units")
        assert units["domainInterval"] == {"minValue": 4, "maxValue": 8}
        assert [m["name"]["tag"] for m in exp["metricInfos"]] == ["val/loss", "test/mse"]
        groups = tb.wait_for(lambda s: _session_groups(s)["sessionGroups"], lambda g: len(g) == 2)
        assert {g["hparams"]["model.units"] for g in groups} == {4, 6}
        assert all({m["name"]["tag"] for m in g["metricValues"]} >= {"val/loss", "test/mse"} for g in groups)

@pytest.mark.slow
def test_best_validation_record_survives_a_resume(tmp_path):
    """A run resumed from its checkpoint reports HParams' val/* at the best epoch of the whole run: the checkpoint
    carries the review's best-epoch record. After the resume a callback spoils the weights after every batch, so
    no later epoch beats the best one before it: a record that restarted at the resume would name a later epoch."""
    import keras

    class Spoil(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.set_weights([np.full_like(w, 2.0) for w in self.model.get_weights()])

    train_with("fit", tmp_path, ["trainer.checkpoint.every=1", "trainer.epochs=3", "trainer.lr=0.01"])
    assert (tmp_path / "checkpoints" / "epoch-0003.npz").is_file()
    cfg = compose(TINY + ["trainer.checkpoint.every=1", "trainer.epochs=5", "trainer.lr=0.01", "resume=true"])
    result = run(cfg, tmp_path, extra_callbacks=[Spoil()])
    val = result.history["val_loss"]
    assert len(val) == 5 and int(np.argmin(val)) < 3, val  # the best epoch lies before the resume
    acc = ea.EventAccumulator(str(tmp_path / "tb" / "summary"), size_guidance={ea.TENSORS: 0})
    acc.Reload()

    def last(tag):
        return float(tf.make_ndarray(acc.Tensors(tag)[-1].tensor_proto))

    assert last("val/best_epoch") == int(np.argmin(val)) + 1
    assert last("val/loss") == pytest.approx(min(val), rel=1e-6)
