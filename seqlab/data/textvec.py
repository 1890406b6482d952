"""The fitted text transform: vocabulary adapted on the training texts, standardisation, cut and padding to token
ids; the same object turns training texts, `seqlab predict` inputs and exported serving inputs into ids."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..config import config_error
from .transforms import inside

RESERVED_TOKENS = ("", "[UNK]")  # ids 0 (padding) and 1 (unknown)
VOCABULARY_FILE = "vocabulary.txt"  # one token per line; token id = line index + 2
_PUNCTUATION = "[%s]" % re.escape(string.punctuation)


def standardize(text):
    """Lowercase, turn IMDB's `<br />` tags into spaces and strip punctuation (a tf.string tensor op)."""
    import tensorflow as tf

    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(text, _PUNCTUATION, "")


class TextVectorizer:
    """Texts -> (n, length) int32 token ids: standardised, split on whitespace, looked up in the training
    vocabulary (1 = unknown), cut (`truncate` post: keep the start; pre: keep the end) and 0-padded at the end."""

    kind = "text"

    def __init__(self, vocabulary: Sequence[str], sequence_length: int, eval_sequence_length: Optional[int] = None,
                 truncate: str = "post"):
        import keras

        self.vocabulary = [str(w) for w in vocabulary]
        if tuple(self.vocabulary[:2]) != RESERVED_TOKENS:
            raise config_error("RUN_DIR", f"a vocabulary starting with {RESERVED_TOKENS}", self.vocabulary[:2])
        self.sequence_length = int(sequence_length)
        self.eval_sequence_length = int(eval_sequence_length or sequence_length)
        self.truncate = truncate
        self.layer = keras.layers.TextVectorization(standardize=standardize, vocabulary=self.vocabulary[2:],
                                                    ragged=True)
        self.layer(["built"])  # a built layer, as export archives need

    @classmethod
    def fit(cls, texts: Sequence[str], max_tokens: int, sequence_length: int,
            eval_sequence_length: Optional[int] = None, truncate: str = "post") -> "TextVectorizer":
        import keras
        import tensorflow as tf

        layer = keras.layers.TextVectorization(max_tokens=max_tokens, standardize=standardize, ragged=True)
        layer.adapt(tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string)).batch(1024))
        return cls(layer.get_vocabulary(), sequence_length, eval_sequence_length, truncate)

    def cut(self, ids, length):
        """Ragged ids (batch, words) -> at most `length` per row, as `truncate` says (a tf op, used by export)."""
        return ids[:, -length:] if self.truncate == "pre" else ids[:, :length]

    def encode(self, texts: Sequence[str], length: Optional[int] = None, key: str = "texts") -> np.ndarray:
        """(n, length) int32 token ids (default length: the evaluation length), in bounded chunks."""
        import tensorflow as tf

        length = int(length or self.eval_sequence_length)
        bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
        if bad:
            raise config_error(key, "a list of str", f"{len(bad)} non-text values, e.g. {bad[0]}")
        chunks = [np.asarray(self.cut(self.layer(tf.constant(list(texts[i:i + 2048]), tf.string)), length)
                             .to_tensor(default_value=0, shape=[None, length]))
                  for i in range(0, len(texts), 2048)]  # bounded memory for the ragged intermediate
        return np.concatenate(chunks).astype(np.int32) if chunks else np.zeros((0, length), np.int32)

    def state(self) -> Dict:
        return {"vocabulary_file": VOCABULARY_FILE, "sequence_length": self.sequence_length,
                "eval_sequence_length": self.eval_sequence_length, "truncate": self.truncate}

    @classmethod
    def from_state(cls, state: Dict, run_dir: Optional[Path] = None, **_) -> "TextVectorizer":
        return cls(read_vocabulary(run_dir, state["vocabulary_file"]), state["sequence_length"],
                   state.get("eval_sequence_length"), state.get("truncate", "post"))


def read_vocabulary(run_dir: Path, name: str) -> List[str]:
    """The full vocabulary (index = token id) from a run's vocabulary file, which must lie inside the run."""
    path = inside(run_dir, name)
    if not path.is_file():
        raise config_error("RUN_DIR", f"a text run with its {VOCABULARY_FILE}", f"{run_dir} has no {name}")
    return list(RESERVED_TOKENS) + path.read_text(encoding="utf-8").split("\n")[:-1]
