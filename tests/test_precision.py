"""trainer.precision: mixed bf16 / fp16 runs train with 16-bit layers and a float32 head and loss, in both trainers."""

import math
import subprocess
import sys

import keras
import pytest
from conftest import QUIET, TINY_SERIES

from seqlab.config import ConfigError, compose, validate
from seqlab.train import run

TINY = TINY_SERIES + ["model=lstm", "model.units=8", "trainer.batch_size=32", "trainer.epochs=3",
                      "trainer.lr=0.01"] + QUIET


def test_an_unknown_precision_is_a_config_error_before_tensorflow():
    code = ("import sys; from seqlab.config import compose, validate, ConfigError\n"
            "try: validate(compose(['trainer.precision=float64']))\n"
            "except ConfigError as e: print(e)\n"
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "trainer.precision" in out and "float64" in out and "mixed_bfloat16" in out
    assert out.strip().endswith("False")
    with pytest.raises(ConfigError, match="trainer.precision"):
        validate(compose(["trainer.precision=bf16"]))


# bf16: the plain head; fp16: the window-forecasting head, with SGD, whose steps (unlike Adam's) shrink with the
# gradient: a loop that left the gradients scaled down by the loss scale would barely move
@pytest.mark.parametrize("precision, extra", [
    pytest.param("mixed_bfloat16", ["trainer=fit", "model.norm=none"], marks=pytest.mark.slow),
    ("mixed_float16", ["trainer=tape", "model.norm=last", "trainer.optimizer=sgd", "trainer.lr=0.3"])])
def test_a_mixed_precision_run_trains_with_a_float32_head(tmp_path, precision, extra):
    result = run(compose(TINY + [f"trainer.precision={precision}"] + extra), tmp_path / "run")
    model = result.model
    half = precision.split("_")[1]
    assert model.get_layer("lstm_0").compute_dtype == half
    assert model.get_layer("head").compute_dtype == "float32" and model.outputs[0].dtype == "float32"
    assert all(w.dtype == "float32" for w in model.weights)
    loss = result.history["loss"]
    assert all(math.isfinite(v) for v in loss) and loss[-1] < 0.7 * loss[0]
    if precision == "mixed_float16":  # Keras' compile wraps the optimizer: the tape loop must scale the loss too
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    # the next float32 run in this process builds float32 layers: the policy does not leak
    after = run(compose(TINY + ["trainer.epochs=1"]), tmp_path / "after").model
    assert after.get_layer("lstm_0").compute_dtype == "float32"
