"""Config composition, schemas, registries and validation messages (no training)."""

import subprocess
import sys

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException

from seqlab.config import GROUPS, SCHEMAS, ConfigError, compose, validate


def test_schemas_are_typed_per_option():
    cfg = compose(["dataset=etth1", "model=conv1d"])
    from omegaconf import OmegaConf

    from seqlab.registry import registry

    assert OmegaConf.get_type(cfg.dataset) is SCHEMAS["dataset"]["ett"] is registry("dataset").get("etth1").schema
    assert OmegaConf.get_type(cfg.model) is SCHEMAS["model"]["conv1d"]
    assert cfg.dataset.boundaries == [8640, 11520, 14400]
    assert set(SCHEMAS) == set(GROUPS)


def test_moved_schema_names_still_import_from_seqlab_config():
    from seqlab.config import RNNConfig, SineConfig
    from seqlab.data.series import SineConfig as Sine
    from seqlab.models.rnn import RNNConfig as RNN

    assert SineConfig is Sine and RNNConfig is RNN


def test_unknown_option_lists_valid_choices():
    with pytest.raises(MissingConfigException) as e:
        compose(["model=lstmm"])
    msg = str(e.value)
    assert "model/lstmm" in msg
    for m in ("conv1d", "gru", "lstm", "simplernn"):
        assert m in msg
    assert "schema" not in msg.split("Available options in 'model':")[1].split("Config search path")[0]


def test_unknown_key_and_wrong_type_name_full_key():
    with pytest.raises(ConfigCompositionException) as e:
        compose(["model.unitz=3"])
    assert "model.unitz" in str(e.value.__cause__)
    with pytest.raises(ConfigCompositionException) as e:
        compose(["trainer.epochs=many"])
    assert "trainer.epochs" in str(e.value.__cause__)


@pytest.mark.parametrize("override,key", [
    ("trainer.lr=-0.1", "trainer.lr"),
    ("trainer.epochs=0", "trainer.epochs"),
    ("model.units=-4", "model.units"),
    ("regularizer.dropout=1.0", "regularizer.dropout"),
    ("regularizer.recurrent_dropout=-0.1", "regularizer.recurrent_dropout"),
    ("regularizer.head_dropout=1.0", "regularizer.head_dropout"),
    ("regularizer.adversarial=-0.1", "regularizer.adversarial"),
    ("regularizer.adversarial=0.3", "regularizer.adversarial"),  # the default dataset is numeric
    ("dataset.horizon=0", "dataset.horizon"),
    ("dataset.input_len=-5", "dataset.input_len"),
    ("trainer.optimizer=adagrad", "trainer.optimizer"),
    ("trainer.lr_schedule=step", "trainer.lr_schedule"),
    ("trainer.loss=l1", "trainer.loss"),
    ("model.pooling=sum", "model.pooling"),
    ("dataset.split=[0.9,0.2]", "dataset.split"),
    ("trainer.batch_size=0", "trainer.batch_size"),
])
def test_out_of_range_values_name_the_key(override, key):
    with pytest.raises(ConfigError) as e:
        validate(compose([override]))
    msg = str(e.value)
    assert msg.startswith(key + ":") and "expected" in msg and "got" in msg


def test_invalid_choice_lists_choices():
    with pytest.raises(ConfigError, match=r"valid choices: adam, adamw, sgd, rmsprop"):
        validate(compose(["trainer.optimizer=adagrad"]))


def test_config_module_does_not_import_tensorflow():
    code = ("import sys, seqlab.cli, seqlab.config; from seqlab.config import compose; compose(['model=gru']);"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("overrides,message", [
    (["+model.unit=8"], "model.unit: expected a key of model=lstm (did you mean model.units?), got 8"),
    (["+trainer.checkpoint.evry=2"], "trainer.checkpoint.evry: expected a key of trainer.checkpoint (did you mean "
                                     "trainer.checkpoint.every?)"),
    (["+dataset.horizn=3"], "dataset.horizn: expected a key of dataset=sine (did you mean dataset.horizon?)"),
    (["+colour=red"], "colour: expected a key of the root config"),
    (["seed=-1"], "seed: expected an integer in [0, 2**32 - 1), got -1"),
    (["sweep=lr", "sweep.objective=val_accuracy"], "sweep.objective: expected a metric that regression runs on "
                                                   "dataset=sine log every epoch, got 'val_accuracy'"),
])
def test_appended_unknown_keys_seeds_and_unlogged_objectives_are_refused(overrides, message):
    with pytest.raises(ConfigError) as e:
        validate(compose(overrides))
    assert str(e.value).startswith(message), str(e.value)


def test_known_appended_keys_and_free_params_pass():
    validate(compose(["dataset=text_synth", "sweep=lr", "sweep.objective=val_accuracy"]))
    validate(compose(["+sweep.space.trainer.lr.max=0.05", "sweep=lr"]))
