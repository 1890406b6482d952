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
    try:
        return keras.saving.load_model(path)
    except (TypeError, ValueError) as e:
        if "seqlab" in str(e):
            raise TypeError(f"{path}: {MISSING_IMPORT_HINT}; Keras said: {str(e)[:500]}") from e
        raise


class Predictor:
    """Model inputs in, model outputs out (arrays in the model's own units, e.g. the adding problem)."""

    def __init__(self, model, meta: Dict, run_dir: Optional[Path] = None):
        self.model, self.meta, self.run_dir = model, meta, run_dir
        self.batch_size = int(meta.get("batch_size") or 64)

    def predict_model(self, x) -> np.ndarray:
        """The model's outputs for model-ready inputs (an array, or a tf.data pipeline of (x, y) batches)."""
        return np.asarray(self.model.predict(x, batch_size=None if hasattr(x, "element_spec") else self.batch_size,
                                             verbose=0))

    def predict(self, x) -> np.ndarray:
        return self.predict_model(np.asarray(x, np.float32))


class _Classifier(Predictor):
    """Shared by text and UCR runs: probabilities per class name, the label, accuracy against labels."""

    @property
    def class_names(self) -> list:
        return list(self.meta["class_names"])

    def probabilities(self, out: np.ndarray) -> np.ndarray:
        """(n, 1) sigmoid or (n, K) softmax outputs -> (n, K) probabilities."""
        out = out.reshape(len(out), -1).astype(np.float64)
        return np.column_stack([1.0 - out[:, 0], out[:, 0]]) if out.shape[1] == 1 else out

    def table(self, probs: np.ndarray) -> pd.DataFrame:
        names = np.array(self.class_names, dtype=object)
        frame = pd.DataFrame({"label": names[probs.argmax(axis=1)]})
        for i, name in enumerate(self.class_names):
            frame[f"prob_{name}"] = probs[:, i]
        return frame

    def label_ids(self, labels: Sequence, key: str) -> np.ndarray:
        """Raw labels (class names, or their text) -> class ids."""
        index = {str(c): i for i, c in enumerate(self.class_names)}
        bad = sorted({str(v) for v in labels} - set(index))
        if bad:
            raise config_error(key, "labels among the run's classes", bad[:5], self.class_names)
        return np.array([index[str(v)] for v in labels], dtype=np.int64)

    def metrics(self, probs: np.ndarray, labels: Sequence, key: str = "labels") -> Dict[str, float]:
        """Accuracy beside the training split's majority class."""
        y = self.label_ids(labels, key)
        counts = self.meta.get("train_class_counts") or [0]
        return {"accuracy": float(np.mean(probs.argmax(axis=1) == y)),
                "baseline_accuracy": float(np.mean(y == int(np.argmax(counts)))), "examples": int(len(y))}


class TextPredictor(_Classifier):
    """Raw texts in; the run's vocabulary and text settings turn them into token ids as in training."""

    def __init__(self, model, meta, run_dir=None):
        super().__init__(model, meta, run_dir)
        import keras

        from ..data.text import standardize

        vocab = meta["vocabulary"]
        self.vectorizer = keras.layers.TextVectorization(standardize=standardize, vocabulary=vocab[2:], ragged=True)
        self.vectorizer(["built"])  # a built layer, as export archives need
        self.length = int(meta.get("eval_sequence_length") or meta["sequence_length"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, length) int32 token ids, 0-padded at the end, cut as in training (`truncate`)."""
        import tensorflow as tf

        bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
        if bad:
            raise config_error("texts", "a list of str", f"{len(bad)} non-text values, e.g. {bad[0]}")
        chunks = []
        for lo in range(0, len(texts), 4096):  # bounded memory for the ragged intermediate
            ids = self.vectorizer(tf.constant(list(texts[lo:lo + 4096]), tf.string))
            ids = ids[:, -self.length:] if self.meta.get("truncate") == "pre" else ids[:, :self.length]
            chunks.append(np.asarray(ids.to_tensor(default_value=0, shape=[None, self.length])))
        return np.concatenate(chunks).astype(np.int32) if chunks else np.zeros((0, self.length), np.int32)

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
        rows = [np.asarray(r, np.float64) for r in series]
        rows = [r[:, None] if r.ndim == 1 else r for r in rows]
        length, norm = int(self.meta["length"]), self.meta.get("normalization")
        channels = int(self.meta.get("channels") or 1)
        x = np.zeros((len(rows), length, channels), np.float32)
        for i, r in enumerate(rows):  # per series (ragged input); the model call below is batched
            present = np.flatnonzero(~np.isnan(r).all(axis=1)) if r.size else []
            r = r[: present[-1] + 1] if len(present) else r[:0]
            if len(r) == 0 or len(r) > length or np.isnan(r).any() or r.shape[1] != channels:
                raise config_error("series", f"1..{length} steps of {channels} value(s) per series, NaNs only at "
                                   "the end", f"series {i} with shape {r.shape}")
            if norm:
                r = (r - np.asarray(norm["mean"], np.float64)) / np.asarray(norm["std"], np.float64)
            if self.meta.get("padding") == "pre":
                x[i, length - len(r):] = r
            else:
                x[i, : len(r)] = r
        return x

    def predict_proba(self, series) -> np.ndarray:
        return self.probabilities(self.predict_model(self.encode(series)))

    def predict(self, series) -> pd.DataFrame:
        return self.table(self.predict_proba(series))
