"""Pins the private Keras Tuner / TensorFlow behaviour seqlab relies on (seqlab/private.py): an upgrade breaks here."""

import ast
import inspect
import json
import os
import pathlib

import keras_tuner
import pytest

from seqlab import private

FRAMEWORK_INTERNALS = ("keras.src", "keras_tuner.src", "tensorflow.python", "tensorflow.lite.python", "tf_keras")
STDLIB_UNDERSCORE = {("os", "_exit"), ("sys", "_getframe")}  # documented, public despite the underscore


def _own_names(trees) -> set:
    """Every name seqlab itself defines: functions, classes, module and class attributes, `self._x = ...`."""
    names = set()
    for tree in trees:
        for n in ast.walk(tree):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(n.name)
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                names.add(n.id)
            elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name) \
                    and n.value.id in ("self", "cls"):
                names.add(n.attr)
            elif isinstance(n, ast.arg):
                names.add(n.arg)
    return names


def private_uses(sources) -> list:
    """`file:line: what` for each use of a framework's private API: an import of its internals, or an underscore
    attribute (read, written, or named in getattr/setattr/hasattr) that seqlab's own code does not define."""
    trees = {name: ast.parse(text, name) for name, text in sources.items()}
    own = _own_names(trees.values())

    def foreign(attr: str) -> bool:
        return attr.startswith("_") and not attr.startswith("__") and not attr.startswith("_seqlab") \
            and attr not in own

    found = []
    for name, tree in trees.items():
        for n in ast.walk(tree):
            modules = [a.name for a in n.names] if isinstance(n, ast.Import) else \
                [n.module or ""] if isinstance(n, ast.ImportFrom) else []
            for m in modules:
                if any(m == f or m.startswith(f + ".") for f in FRAMEWORK_INTERNALS):
                    found.append(f"{name}:{n.lineno}: import {m}")
            if isinstance(n, ast.Attribute) and foreign(n.attr):
                owner = n.value.id if isinstance(n.value, ast.Name) else None
                if (owner, n.attr) not in STDLIB_UNDERSCORE:
                    found.append(f"{name}:{n.lineno}: .{n.attr}")
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("getattr", "setattr",
                                                                                           "hasattr", "delattr") \
                    and len(n.args) > 1 and isinstance(n.args[1], ast.Constant) and foreign(str(n.args[1].value)):
                found.append(f"{name}:{n.lineno}: {n.func.id}(..., {n.args[1].value!r})")
    return found


def test_every_private_framework_api_goes_through_the_adapter():
    root = pathlib.Path(private.__file__).parent
    sources = {str(p.relative_to(root)): p.read_text() for p in root.rglob("*.py") if p.name != "private.py"}
    assert private_uses(sources) == []


def test_the_scan_finds_private_attributes_imports_and_getattr_but_not_seqlabs_own():
    code = """
import keras.src.layers
from tensorflow.python.eager import context
class Mine:
    def __init__(self):
        self._state = 1
def f(model, other):
    model._flatten_layers()
    other._state = 2
    getattr(model, "_loss_tracker", None)
    os._exit(1)
    model._seqlab_marker = 3
"""
    found = [line.split(": ", 1)[1] for line in private_uses({"x.py": code})]
    assert sorted(found) == sorted(["import keras.src.layers", "import tensorflow.python.eager", "._flatten_layers",
                                    "getattr(..., '_loss_tracker')"])


def test_op_determinism_switches_on_and_back_off():
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    assert private.op_determinism_enabled() is True
    private.disable_op_determinism()
    assert private.op_determinism_enabled() is False


def test_seed_generators_are_a_layers_own_and_keras_rnn_cells_share_the_dropout_mixin():
    import keras

    assert len(private.seed_generators(keras.layers.Dropout(0.5))) == 1
    assert private.seed_generators(keras.layers.Dense(2)) == []
    assert private.seed_generators(keras.layers.LSTM(2, dropout=0.5)) == []  # its cell owns it
    cells = [keras.layers.LSTMCell(2), keras.layers.GRUCell(2), keras.layers.SimpleRNNCell(2),
             keras.layers.ConvLSTM1D(2, 3).cell]
    assert all(isinstance(c, private.dropout_rnn_cell()) and private.seed_generators(c) for c in cells)


def test_tensorflow_runtime_started_is_a_bool_and_true_once_an_op_ran():
    import tensorflow as tf

    assert isinstance(private.tensorflow_runtime_started(), bool)
    tf.constant(1.0) + 1.0
    assert private.tensorflow_runtime_started() is True


@pytest.fixture()
def oracle(tmp_path):
    o = keras_tuner.oracles.RandomSearchOracle(objective=keras_tuner.Objective("val_loss", "min"), max_trials=2,
                                               seed=1)
    hp = keras_tuner.HyperParameters()
    hp.Float("trainer.lr", 1e-3, 1e-2)
    o._set_project_dir(str(tmp_path), "tuner")  # Keras Tuner's own set-up path (what Tuner.__init__ calls)
    o.update_space(hp)
    return o


def test_oracle_retry_queue_is_the_list_create_trial_hands_out_first(oracle):
    first = oracle.create_trial("w1")
    queue = private.retry_queue(oracle)
    assert queue == [] and isinstance(queue, list)
    oracle.ongoing_trials.pop("w1")
    queue.append(first.trial_id)  # what the lease reaper does with a lost worker's trial
    again = oracle.create_trial("w2")
    assert again.trial_id == first.trial_id and private.retry_queue(oracle) == []


def test_save_trial_writes_trial_json(oracle, tmp_path):
    trial = oracle.create_trial("w1")
    private.save_trial(oracle, trial)
    assert (tmp_path / "tuner" / f"trial_{trial.trial_id}" / "trial.json").is_file()


def test_keras_tuner_state_goes_through_the_routed_json_writer(oracle, tmp_path, monkeypatch):
    """route_tuner_json relies on Keras Tuner looking save_json up on its utils module at every call (oracle.json
    and trial.json through Stateful.save)."""
    from keras_tuner.src import utils

    import seqlab.tune.tuner  # noqa: F401  (routes Keras Tuner's JSON through the atomic writer)

    assert utils.save_json.seqlab_routed
    routed = utils.save_json
    private.route_tuner_json(lambda path, obj, original: None)  # once per process: a second call changes nothing
    assert utils.save_json is routed
    seen = []
    monkeypatch.setattr(utils, "save_json", lambda path, obj: seen.append(os.path.basename(path)) or routed(path, obj))
    oracle.save()
    assert seen == ["oracle.json"]
    trial = oracle.create_trial("w1")
    seen.clear()
    private.save_trial(oracle, trial)
    assert seen == ["trial.json"]
    assert json.loads((tmp_path / "tuner" / "oracle.json").read_text())


def test_tuner_callbacks_and_checkpoint_path(tmp_path):
    from seqlab.train.callbacks import StatefulCallback

    class Stub:
        oracle = type("O", (), {"objective": keras_tuner.Objective("val_loss", "min")})()

    report, best = private.tuner_callbacks(Stub(), "trial", str(tmp_path / "w.weights.h5"))
    assert type(report).__name__ == "TunerCallback" and report.tuner.__class__ is Stub and report.trial == "trial"
    assert type(best).__name__ == "SaveBestEpoch" and best.filepath == str(tmp_path / "w.weights.h5")
    assert not isinstance(report, StatefulCallback) and not isinstance(best, StatefulCallback)
    assert list(inspect.signature(keras_tuner.Tuner._get_checkpoint_fname).parameters) == ["self", "trial_id"]


def test_oracle_servicer_is_added_to_a_grpc_server_and_reports_stops(oracle):
    from concurrent import futures

    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = private.oracle_server(oracle, server)
    assert servicer.oracle is oracle and private.stop_requested(servicer) is False
    server.stop(0)


def test_synchronized_and_trial_are_public():
    from keras_tuner.engine.trial import Trial, TrialStatus

    assert callable(keras_tuner.synchronized) and TrialStatus.IDLE and Trial


def test_keras_tuners_banner_numbers_trials_by_their_id_as_trials_dirs_do(oracle, capsys):
    oracle.verbose = 1
    private.number_trials_by_id(oracle)
    private.number_trials_by_id(oracle)  # once only
    first, second = oracle.create_trial("w1"), oracle.create_trial("w2")
    out = capsys.readouterr().out
    assert f"Running Trial {first.trial_id} (trials/{first.trial_id}/)" in out
    assert f"Running Trial {second.trial_id} (trials/{second.trial_id}/)" in out
    assert "Running Trial #" not in out and second.trial_id.lstrip("0") == "1"


def test_update_trial_answers_cross_grpc_to_the_worker_with_their_status(tmp_path):
    """Pruning relies on it: the chief's oracle answers a worker's epoch report with a STOPPED Trial, and the
    worker's OracleClient.update_trial returns that Trial (Keras Tuner's own oracles always answer RUNNING)."""
    from concurrent import futures

    import grpc
    from keras_tuner.engine.trial import Trial, TrialStatus
    from keras_tuner.src.distribute.oracle_client import OracleClient
    from test_sweep_distributed import free_port

    class Answering(keras_tuner.oracles.RandomSearchOracle):
        seen = []

        def update_trial(self, trial_id, metrics, step=0):
            self.seen.append((trial_id, dict(metrics), step))
            return Trial(self.get_space(), trial_id=trial_id, status=TrialStatus.STOPPED)

    chief = Answering(objective=keras_tuner.Objective("val_loss", "min"), max_trials=2, seed=1)
    chief._set_project_dir(str(tmp_path), "tuner")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    private.oracle_server(chief, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    env = {"KERASTUNER_TUNER_ID": "w1", "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = OracleClient(keras_tuner.oracles.RandomSearchOracle(objective=keras_tuner.Objective("val_loss",
                                                                                                      "min")))
        answer = client.update_trial("7", {"seqlab/epoch_objective": 0.5}, step=2)
    finally:
        server.stop(0)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert answer.status == TrialStatus.STOPPED and answer.trial_id == "7"
    assert Answering.seen == [("7", {"seqlab/epoch_objective": 0.5}, 2)]
