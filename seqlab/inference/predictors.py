"""`seqlab.load(run_dir)`: a run's model behind raw inputs (DataFrames, texts, raw series) and raw outputs
(original units, class names with probabilities). Batched: no Python loop over rows."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd

from ..config import config_error

MISSING_IMPORT_HINT = ("the model uses seqlab's own Keras layers: `import seqlab` before keras.saving.load_model "
                       "(it registers them)")


def load_keras_model(run_dir: Path):
    """model.keras of a run; a failure to deserialize says which import it needs."""
    import importlib

    import keras

    from ..models import KERAS_MODULES

    for name in KERAS_MODULES:  # seqlab's Keras classes registered (what `import seqlab` arranges)
        importlib.import_module(name)
    path = Path(run_dir) / "model.keras"
    if not path.is_file():
        raise config_error("RUN_DIR", "a run directory with model.keras (a completed run)", str(run_dir))
    import zipfile

    if not zipfile.is_zipfile(path):  # empty or cut short (Keras would say "File not found")
        raise config_error("RUN_DIR", "a readable model.keras (a zip archive)",
                           f"{path} ({path.stat().st_size} bytes: empty or truncated; train the run again, or copy "
                           "the file again)")
    try:
        return keras.saving.load_model(path)
    except (TypeError, ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        if "seqlab" in str(e):
            raise TypeError(f"{path}: {MISSING_IMPORT_HINT}; Keras said: {str(e)[:500]}") from e
        raise config_error("RUN_DIR", "a readable model.keras", f"{path}: {type(e).__name__}: "
                           f"{str(e).splitlines()[0][:300] if str(e) else ''}") from None


class Predictor:
    """Model inputs in, model outputs out (arrays in the model's own units, e.g. the adding problem).
    `transforms`: the run's fitted input transforms (seqlab.data.transforms), loaded from inference.json."""

    def __init__(self, model, meta: Dict, run_dir: Optional[Path] = None):
        from ..data.fitted import from_states

        self.model, self.meta, self.run_dir = model, meta, run_dir
        self.batch_size = int(meta.get("batch_size") or 64)
        self.transforms = from_states(meta.get("transforms") or {}, run_dir=run_dir)

    def predict_model(self, x) -> np.ndarray:
        """The model's outputs for model-ready inputs (an array, or a tf.data pipeline of (x, y) batches)."""
        return np.asarray(self.model.predict(x, batch_size=None if hasattr(x, "element_spec") else self.batch_size,
                                             verbose=0))

    def predict(self, x) -> np.ndarray:
        return self.predict_model(np.asarray(x, np.float32))


class _Classifier(Predictor):
    """Shared by text and UCR runs: probabilities per class name, the label, accuracy against labels."""

    def __init__(self, model, meta: Dict, run_dir: Optional[Path] = None):
        super().__init__(model, meta, run_dir)
        self.labels = self.transforms["labels"]  # LabelMap: raw labels <-> ids, outputs -> probabilities

    @property
    def class_names(self) -> list:
        return list(self.labels.class_names)

    def probabilities(self, out: np.ndarray) -> np.ndarray:
        """(n, 1) sigmoid or (n, K) softmax outputs -> (n, K) probabilities."""
        return self.labels.probabilities(out)

    def table(self, probs: np.ndarray) -> pd.DataFrame:
        names = np.array(self.class_names, dtype=object)
        frame = pd.DataFrame({"label": names[probs.argmax(axis=1)]})
        for i, name in enumerate(self.class_names):
            frame[f"prob_{name}"] = probs[:, i]
        return frame

    def label_ids(self, labels: Sequence, key: str) -> np.ndarray:
        """Raw labels, read as training read them (`1.0` is 1, spaces stripped) -> class ids."""
        return self.labels.ids(labels, key).astype(np.int64)

    def metrics(self, probs: np.ndarray, labels: Sequence, key: str = "labels") -> Dict[str, float]:
        """Accuracy beside the training split's majority class."""
        y = self.label_ids(labels, key)
        counts = self.meta.get("train_class_counts") or [0]
        return {"accuracy": float(np.mean(probs.argmax(axis=1) == y)),
                "baseline_accuracy": float(np.mean(y == int(np.argmax(counts)))), "examples": int(len(y))}


class TextPredictor(_Classifier):
    """Raw texts in; the run's fitted text transform turns them into token ids as in training."""

    def __init__(self, model, meta, run_dir=None):
        super().__init__(model, meta, run_dir)
        self.text = self.transforms["text"]  # TextVectorizer
        self.vectorizer, self.length = self.text.layer, self.text.eval_sequence_length

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, length) int32 token ids, 0-padded at the end, cut as in training (`truncate`)."""
        return self.text.encode(texts)

    def predict_ids(self, ids: np.ndarray) -> np.ndarray:
        """(n, K) probabilities for token-id rows. Open-length models get length-sorted batches cut to their
        longest row (as in evaluation), then the original order back."""
        from ..data.base import TokenSplit

        if self.meta["input_shape"][0] is not None:
            return self.probabilities(self.predict_model(ids))
        order = np.argsort((ids != 0).sum(axis=1), kind="stable")  # the order TokenSplit keeps
        out = self.predict_model(TokenSplit(ids, np.zeros(len(ids), np.int32)).dataset(self.batch_size))
        probs = np.empty((len(ids), self.probabilities(out[:1]).shape[1]))
        probs[order] = self.probabilities(out)
        return probs

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_ids(self.encode(list(texts)))

    def predict(self, texts: Sequence[str]) -> pd.DataFrame:
        """label and prob_<class> per text."""
        return self.table(self.predict_proba(texts))


class UcrPredictor(_Classifier):
    """Raw series (rows of values, NaN-padded at the end or a list of 1-D arrays) in, as in the UCR files."""

    def encode(self, series) -> np.ndarray:
        """(n, length, channels) float32: normalised with the training statistics, padded as in training. A
        series is 1-D (one channel) or (time, channels)."""
        return self.transforms["pad_series"].apply(series)

    def predict_proba(self, series) -> np.ndarray:
        return self.probabilities(self.predict_model(self.encode(series)))

    def predict(self, series) -> pd.DataFrame:
        return self.table(self.predict_proba(series))
