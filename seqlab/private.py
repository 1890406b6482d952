"""The one home of the private framework APIs seqlab relies on; tests/test_private.py pins each of them.

Keras, Keras Tuner and TensorFlow have no public API for these. Every use goes through a function here, which
imports the framework only when called, so that an upgrade that moves or changes one breaks here (and in the
test), loudly, not somewhere inside a sweep. pyproject.toml caps the three below their next minor version, and
tests/test_private.py scans seqlab's code (ast) for any other underscore attribute or internal module of theirs.

seqlab function             private API it wraps (why seqlab needs it)
--------------------------  ----------------------------------------------------------------------------------
op_determinism_enabled,     tensorflow.python.framework.config.is_op_determinism_enabled / disable_op_determinism
disable_op_determinism      (the public API turns op determinism on, never off: a run must not leak into the next)
tensorflow_runtime_started  tensorflow.python.eager.context._context._context_handle
                            (TensorFlow runs in this process: forking a trial is no longer safe)
all_layers                  keras.Model._flatten_layers (every nested layer: dropout / batch-norm anywhere inside)
seed_generators             Layer._seed_generators (the SeedGenerators a layer owns: it may draw random numbers)
dropout_rnn_cell            keras.src.layers.rnn.dropout_rnn_cell.DropoutRNNCell (the mixin of every Keras RNN cell
                            with dropout / recurrent_dropout, ConvLSTM's included)
detach_strategy,            keras Model._distribute_strategy (multi_worker: the chief evaluates and predicts
model_strategy              alone, outside the strategy's collectives)
replace_steps               Model.train_step / test_step / predict_step set on the instance (trainer.cpu_shards)
keep_tensor_list_ops        TFLiteConverter._experimental_lower_tensor_list_ops (LiteRT export of RNN loops)
tuner_callbacks             keras_tuner.src.engine.tuner_utils.TunerCallback, SaveBestEpoch
                            (what Tuner.run_trial hands model.fit, for trials trained by seqlab's own path)
checkpoint_path             Tuner._get_checkpoint_fname (where SaveBestEpoch writes; what Tuner.load_model reads)
retry_queue                 Oracle._retry_queue, a list of trial ids (a lost worker's trial goes back; sweep done?)
save_trial                  Oracle._save_trial (trial.json after the lease reaper changed a trial)
oracle_server               keras_tuner.src.distribute.oracle_chief.OracleServicer, keras_tuner.src.protos
                            .get_service_grpc (the chief's gRPC servicer, served by seqlab's loop that reaps workers)
number_trials_by_id         Oracle._display (Display.on_trial_begin, trial_number): the banner counts from 1
stop_requested              OracleServicer.stop_triggered (a worker was told the search is over)
(no call: behaviour)         OracleServicer.UpdateTrial hands request.metrics to Oracle.update_trial and returns the
                            Trial it answers, which OracleClient.update_trial returns to the worker, status included
                            (sweep.pruner: the chief's STOPPED reaches a worker's forked trial)
route_tuner_json            keras_tuner.src.utils.save_json (oracle.json, tuner0.json, trial.json: seqlab writes
                            them atomically; Stateful.save and Tuner look the function up on the module per call)
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple


# --------------------------------------------------------------------------- TensorFlow
def op_determinism_enabled() -> bool:
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())


def disable_op_determinism() -> None:
    from tensorflow.python.framework import config as tf_config

    tf_config.disable_op_determinism()


def tensorflow_runtime_started() -> bool:
    """Whether TensorFlow's eager context (its runtime and thread pools) exists in this process."""
    from tensorflow.python.eager import context

    return context._context is not None and context._context._context_handle is not None


# --------------------------------------------------------------------------- Keras
def all_layers(model: Any) -> List[Any]:
    """Every layer inside `model`, nested ones included (Keras' own walk; `model.layers` is the top level only)."""
    if not hasattr(model, "_flatten_layers"):
        return list(model.layers)
    return list(model._flatten_layers(include_self=False, recursive=True))


def seed_generators(layer: Any) -> List[Any]:
    """The keras.random.SeedGenerators `layer` itself owns (Keras tracks them per layer; nested layers' not)."""
    return list(getattr(layer, "_seed_generators", None) or [])


def dropout_rnn_cell() -> type:
    from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

    return DropoutRNNCell


def detach_strategy(model: Any) -> None:
    """Keras' evaluate/predict on `model` run outside the tf.distribute strategy it was built under."""
    model._distribute_strategy = None


def model_strategy(model: Any) -> Any:
    """The tf.distribute strategy Keras runs `model`'s evaluate/predict under (None: the default)."""
    return model._distribute_strategy


def replace_steps(model: Any, train_step: Callable, test_step: Callable, predict_step: Callable) -> None:
    """Make this model instance's fit / evaluate / predict call these steps (Keras looks them up on the instance
    when it builds its step functions); nothing is saved with the model."""
    model.train_step, model.test_step, model.predict_step = train_step, test_step, predict_step


def keep_tensor_list_ops(converter: Any) -> None:
    """LiteRT converter with the TensorFlow ops: keep TensorList ops (an RNN's loop) as Flex ops, unlowered."""
    converter._experimental_lower_tensor_list_ops = False


# --------------------------------------------------------------------------- Keras Tuner: tuner and trial
def tuner_callbacks(tuner: Any, trial: Any, filepath: str) -> List[Any]:
    """[TunerCallback (reports each epoch to the oracle), SaveBestEpoch (the best epoch's weights at `filepath`)]."""
    from keras_tuner.src.engine import tuner_utils

    return [tuner_utils.TunerCallback(tuner, trial),
            tuner_utils.SaveBestEpoch(objective=tuner.oracle.objective, filepath=filepath)]


def checkpoint_path(tuner: Any, trial_id: str) -> str:
    return tuner._get_checkpoint_fname(trial_id)


# --------------------------------------------------------------------------- Keras Tuner: oracle
def retry_queue(oracle: Any) -> List[str]:
    """The oracle's own list of trial ids to hand out again (mutable: appending hands a trial back)."""
    return oracle._retry_queue


def save_trial(oracle: Any, trial: Any) -> None:
    oracle._save_trial(trial)


def oracle_server(oracle: Any, server: Any) -> Any:
    """Keras Tuner's servicer for `oracle`, added to the gRPC `server`; returns the servicer."""
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    return servicer


def number_trials_by_id(oracle: Any) -> None:
    """Keras Tuner's banner counts trials from 1 (`Running Trial #2` for trial id 1); seqlab's `trials/<id>/` uses
    the trial id: the banner and `Trial <n> Complete` say the id, so there is one numbering."""
    import contextlib
    import io
    import sys

    display = oracle._display
    if getattr(display.on_trial_begin, "seqlab_numbered", False):
        return
    begin = display.on_trial_begin

    def on_trial_begin(trial):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            begin(trial)
        number = display.trial_number.get(trial.trial_id)
        display.trial_number[trial.trial_id] = trial.trial_id
        sys.stdout.write(printed.getvalue().replace(f"Running Trial #{number}",
                                                    f"Running Trial {trial.trial_id} (trials/{trial.trial_id}/)", 1))

    on_trial_begin.seqlab_numbered = True
    display.on_trial_begin = on_trial_begin


def stop_requested(servicer: Any) -> bool:
    return bool(servicer.stop_triggered)


def route_tuner_json(save_json: Callable[[Any, Any, Callable[[Any, Any], Any]], Any]) -> None:
    """Route Keras Tuner's JSON writer through save_json(path, obj, original) (once per process)."""
    from keras_tuner.src import utils

    if getattr(utils.save_json, "seqlab_routed", False):
        return
    original = utils.save_json

    def routed(path, obj):
        return save_json(path, obj, original)

    routed.seqlab_routed = True
    utils.save_json = routed


def versions() -> Tuple[str, str]:
    """(tensorflow, keras_tuner) versions, for messages."""
    import keras_tuner
    import tensorflow as tf

    return tf.__version__, keras_tuner.__version__
