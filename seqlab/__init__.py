"""seqlab: sequence-model experiments (SimpleRNN, LSTM, GRU, Conv1D) from composed Hydra configs.

`import seqlab` stays light (no TensorFlow), yet makes `keras.saving.load_model(run_dir / "model.keras")` work:
seqlab's Keras classes are registered as soon as Keras is imported (now, or later through a one-shot import hook).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import sys

__version__ = "0.1.0"

# until seqlab.models exports KERAS_MODULES: the modules whose import registers seqlab's Keras classes
_FALLBACK_KERAS_MODULES = ("seqlab.models.layers", "seqlab.models.adversarial")


def register_keras_classes() -> None:
    """Import every module that registers a seqlab Keras class (imports Keras and TensorFlow)."""
    try:
        from .models import KERAS_MODULES
    except ImportError:
        KERAS_MODULES = _FALLBACK_KERAS_MODULES
    for name in KERAS_MODULES:
        importlib.import_module(name)


class _AroundImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps a module's own loader (one shot) so that `around(exec_module, module)` runs it:
    seqlab's Keras classes register right after Keras loads; TensorFlow's start-up noise is filtered as it loads."""

    def __init__(self, name: str, around):
        self.name, self.around = name, around

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # one shot, and find_spec below must not come back here
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_original, around = loader.exec_module, self.around
        loader.exec_module = lambda module: around(exec_original, module)
        return spec


def _after_keras(exec_module, module) -> None:
    exec_module(module)
    try:
        register_keras_classes()
    except Exception:  # never break `import keras` itself; loading a seqlab model will say what failed
        logging.getLogger(__name__).warning("seqlab: could not register its Keras classes", exc_info=True)


def _quiet_tensorflow(exec_module, module) -> None:
    from .startup import filtered_stderr, gpus_present

    with filtered_stderr(gpus_present):
        exec_module(module)


def _install_hook() -> None:
    hooks = [("keras", _after_keras)]
    if not os.environ.get("SEQLAB_TF_STARTUP_LOG"):  # set it to see TensorFlow's start-up lines unfiltered
        hooks.append(("tensorflow", _quiet_tensorflow))
    for name, around in hooks:
        if name in sys.modules:
            if name == "keras":
                register_keras_classes()
        elif not any(isinstance(f, _AroundImport) and f.name == name for f in sys.meta_path):
            sys.meta_path.insert(0, _AroundImport(name, around))


def load(run_dir):
    """A predictor for the run in `run_dir` that takes raw inputs (see seqlab.inference)."""
    from .inference import load as load_predictor

    return load_predictor(run_dir)


_install_hook()
