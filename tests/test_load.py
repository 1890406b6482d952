"""model.keras loads in a fresh interpreter after `import seqlab` alone (Keras safe mode), for every model option
that adds a seqlab layer; `import seqlab` itself imports no TensorFlow."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from seqlab.config import compose
from seqlab.spec import DataSpec

SERIES = DataSpec(name="toy", task="regression", input_shape=(16, 3), output_shape=(4, 3),
                  feature_names=("a", "b", "c"), target_names=("a", "b", "c"))
TEXT = DataSpec(name="toy_text", task="binary", input_shape=(None,), num_classes=2, vocab_size=50)

# option -> (overrides, spec): each adds at least one registered seqlab class
OPTIONS = {
    "pooling_max": (["model=gru", "model.pooling=max"], SERIES),
    "conv1d_last_step": (["model=conv1d"], SERIES),
    "norm_last": (["model=gru", "model.norm=last"], SERIES),
    "norm_revin": (["model=lstm", "model.norm=revin"], SERIES),
    "channel_independent": (["model=gru", "model.channel_independent=true"], SERIES),
    "patch": (["model=gru", "model.patch=4", "model.norm=last"], SERIES),
    "pmf_decoder": (["model=lstm", "model.patch=2", "model.channel_independent=true", "model.patch_embedding=true",
                     "model.decoder=pmf"], SERIES),
    "adversarial_text": (["model=lstm", "model.pooling=max", "regularizer.adversarial=0.3"], TEXT),
}


def _fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "", "PYTHONPATH": ":".join(sys.path)})


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every option's model saved as model.keras, with its outputs on fixed inputs."""
    from seqlab import models

    tmp = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    expected = {}
    for name, (overrides, spec) in OPTIONS.items():
        cfg = compose(overrides + ["model.units=4"] if "conv1d" not in name else overrides + ["model.filters=4"])
        model = models.build(cfg.model, cfg.regularizer, spec)
        x = rng.integers(1, 50, (2, 7)) if spec.vocab_size else rng.normal(size=(2, 16, 3)).astype("float32")
        np.save(tmp / f"{name}.npy", x)
        expected[name] = np.asarray(model.predict(x, verbose=0)).tolist()
        model.save(tmp / f"{name}.keras")
    (tmp / "expected.json").write_text(json.dumps(expected))
    return tmp


def test_import_seqlab_imports_no_tensorflow():
    res = _fresh("import sys, seqlab; print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]


@pytest.mark.slow
def test_every_custom_layer_loads_after_import_seqlab(saved):
    code = f"""
import json, numpy as np, seqlab, keras
expected = json.loads(open({str(saved / 'expected.json')!r}).read())
for name, out in expected.items():
    model = keras.saving.load_model({str(saved)!r} + '/' + name + '.keras')  # safe_mode=True by default
    got = model.predict(np.load({str(saved)!r} + '/' + name + '.npy'), verbose=0)
    np.testing.assert_allclose(got, np.array(out), rtol=1e-5, atol=1e-6)
    print('ok', name)
"""
    res = _fresh(code)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split().count("ok") == len(OPTIONS)


@pytest.mark.slow
def test_keras_imported_before_seqlab_registers_too(saved):
    res = _fresh(f"import keras, seqlab; keras.saving.load_model({str(saved / 'norm_last.keras')!r}); print('ok')")
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


@pytest.mark.slow
def test_without_import_seqlab_keras_names_the_module(saved):
    res = _fresh(f"import keras; keras.saving.load_model({str(saved / 'norm_last.keras')!r})")
    assert res.returncode != 0 and "seqlab.models.layers" in res.stderr


def test_seqlab_load_says_which_import_is_missing(saved, tmp_path):
    from seqlab.inference.predictors import load_keras_model

    # a copy whose config names a seqlab class that no module registers
    src, dst = saved / "norm_last.keras", tmp_path / "model.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            blob = zin.read(item)
            if item.filename == "config.json":
                blob = blob.replace(b"WindowNorm", b"WindowNormGone")
            zout.writestr(item, blob)
    with pytest.raises(TypeError, match="`import seqlab`"):
        load_keras_model(tmp_path)
