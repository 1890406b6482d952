"""Text classification (text_synth, text_csv, imdb): token ids from a TextVectorization adapted on train only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
from omegaconf import MISSING, OmegaConf

from ..config import config_error
from ..config.schema import DatasetConfig
from ..registry import REGISTRIES
from . import download
from .base import ArraySplit, DataSpec, Splits, TokenSplit
from .baselines import majority_class_baseline
from .imdb import IMDB_TARBALL, read_imdb_tarball
from .labels import LabelMap, shuffled_split_indices
from .textvec import TextVectorizer, standardize  # noqa: F401  (standardize: seqlab.data.text.standardize)

log = logging.getLogger(__name__)


@dataclass
class TextConfig(DatasetConfig):
    max_tokens: int = 20000  # vocabulary size (the most frequent training words)
    sequence_length: int = 200  # words per text in training (padded or cut)
    truncate: str = "post"  # longer texts lose their end ("post") or their beginning ("pre"), as in pad_sequences
    # validation and test texts are cut at this length instead (null: sequence_length): a longer one lets a
    # length-agnostic model (RNN + pooling) read whole reviews at evaluation while training stays cheap
    eval_sequence_length: Optional[int] = None
    val_fraction: float = 0.1  # carved out of the training split


@dataclass
class TextSynthConfig(TextConfig):
    train_size: int = 4000  # training texts generated
    val_size: int = 500  # validation texts generated
    test_size: int = 1000  # test texts generated
    max_tokens: int = 200
    sequence_length: int = 16


@dataclass
class TextCsvConfig(TextConfig):
    path: str = MISSING  # the CSV file of labelled texts
    text_column: str = "text"  # the column holding the text
    label_column: str = "label"  # the column holding the label
    split_column: Optional[str] = None  # column with train/test values; else a random test split
    test_fraction: float = 0.2  # random test split when there is no split_column
    drop_missing: bool = False  # drop rows with an empty text or label (counted) instead of refusing the file
    sep: str = "auto"  # field separator: auto | , | ; | \t | |
    encoding: str = "auto"  # auto (BOM, else UTF-8, else cp1252) or a codec name


@dataclass
class ImdbConfig(TextConfig):
    file: str = "imdb_reviews.csv.gz"  # file name under data_dir
    url: str = ""  # where a missing file is downloaded from
    sha256: str = ""  # the download's checksum



# text_synth vocabulary: the label is the sentiment word's polarity, flipped when "not" directly precedes it
POSITIVE = ("good", "great", "excellent", "wonderful", "superb", "enjoyable")
NEGATIVE = ("bad", "awful", "terrible", "poor", "boring", "dreadful")
FILLER = ("the", "movie", "film", "was", "really", "plot", "acting", "i", "thought", "it", "quite", "story",
          "very", "and", "this", "a", "cast", "ending", "overall", "seemed")


def load_text_synth(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """Synthetic sentiment whose label depends on word order, so a bag of words is at chance."""
    if cfg.sequence_length < 2:
        raise config_error("dataset.sequence_length", "at least 2 tokens (a sentiment word and 'not')",
                           cfg.sequence_length)
    streams = np.random.default_rng(seed).spawn(3)
    sizes = [cfg.train_size, cfg.val_size, cfg.test_size]
    parts = [synth_sentences(n, cfg.sequence_length, rng) for n, rng in zip(sizes, streams)]
    info = {"source": "text_synth (synthetic)",
            "rule": "polarity of the one sentiment word, flipped when 'not' directly precedes it"}
    return _vectorized(cfg, parts, LabelMap(["negative", "positive"]), info)


def load_text_csv(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """A CSV with a text and a label column; `split_column` (train/test) or a random `test_fraction` split."""
    path, frame, dialect = _read_text_csv(cfg, data_dir)
    frame, dropped = clean_rows(frame, cfg, path.name)
    label_map = _labels(frame[cfg.label_column], path.name)
    labels, classes = label_map.ids(frame[cfg.label_column].tolist(), "dataset.label_column"), label_map.class_names
    texts = frame[cfg.text_column].to_numpy(dtype=object)
    rng = np.random.default_rng(seed)
    if cfg.split_column:
        split = frame[cfg.split_column].astype(str).str.strip().str.lower()
        bad = sorted(set(split) - {"train", "test"})
        if bad:
            raise config_error("dataset.split_column", f"only the values train/test in column {cfg.split_column!r}",
                               bad[:5], ["train", "test"])
        is_test = (split == "test").to_numpy()
    else:
        is_test = np.zeros(len(frame), dtype=bool)
        is_test[rng.permutation(len(frame))[: int(round(cfg.test_fraction * len(frame)))]] = True
    if is_test.all() or not is_test.any():
        raise config_error("dataset.split_column" if cfg.split_column else "dataset.test_fraction",
                           "both train and test rows", f"{int(is_test.sum())} test rows of {len(frame)} in {path.name}")
    info = {"source": str(path), "dropped_rows": dropped, "dialect": dialect}  # predict reads inputs so
    _every_class_trains(labels[~is_test], classes, path.name)
    return _from_train_test(cfg, seed, texts[~is_test], labels[~is_test], texts[is_test], labels[is_test],
                            label_map, info)


def load_imdb(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """IMDB reviews, original 25k/25k split, from imdb_reviews.csv.gz or the aclImdb tarball (downloaded if need be)."""
    csv = download.find([cfg.file], data_dir)
    if csv is not None:
        frame = download.read_csv(csv, "dataset.file", keep_default_na=False)
        missing = sorted({"text", "label", "split"} - set(frame.columns))
        if missing:
            raise config_error("dataset.file", f"columns text, label, split in {csv.name}", list(frame.columns))
        source = csv
    else:
        source = download.find([IMDB_TARBALL], data_dir) or download.fetch(IMDB_TARBALL, cfg.url, cfg.sha256, data_dir)
        frame = read_imdb_tarball(source)
    test = (frame["split"] == "test").to_numpy()
    texts = frame["text"].to_numpy(dtype=object)
    labels = frame["label"].to_numpy(dtype=np.int32)
    info = {"source": str(source), "original_sizes": {"train": int((~test).sum()), "test": int(test.sum())}}
    return _from_train_test(cfg, seed, texts[~test], labels[~test], texts[test], labels[test],
                            LabelMap(["neg", "pos"]), info)


def synth_sentences(n: int, max_len: int, rng: np.random.Generator) -> Tuple[List[str], np.ndarray]:
    """n sentences, each with exactly one sentiment word and one "not" among filler words; labels int32 (n,).

    Whether "not" sits directly before the sentiment word is drawn independently of everything else, so the
    multiset of words carries no information about the flip: only word order does.
    """
    texts, labels = [], np.empty(n, dtype=np.int32)
    for i in range(n):
        length = int(rng.integers(min(4, max_len), max_len + 1))
        positive = bool(rng.integers(2))
        flipped = bool(rng.integers(2))
        if flipped:
            neg_at = int(rng.integers(length - 1))
            word_at = neg_at + 1
        else:  # any pair of distinct positions except "not" right before the word
            while True:
                neg_at, word_at = (int(v) for v in rng.choice(length, 2, replace=False))
                if word_at != neg_at + 1:
                    break
        words = list(rng.choice(FILLER, length))
        words[neg_at] = "not"
        words[word_at] = str(rng.choice(POSITIVE if positive else NEGATIVE))
        texts.append(" ".join(words))
        labels[i] = int(positive != flipped)
    return texts, labels


def clean_rows(frame: pd.DataFrame, cfg, source: str) -> Tuple[pd.DataFrame, int]:
    """Labels and texts with surrounding whitespace stripped; rows with an empty text or label are refused (file
    line numbers named) or, with `dataset.drop_missing`, dropped and counted."""
    frame = frame.copy()
    for key in ("label_column", "text_column"):
        frame[cfg[key]] = frame[cfg[key]].astype(str).str.strip()
    empty = (frame[cfg.label_column] == "") | (frame[cfg.text_column] == "")
    if empty.any() and not cfg.drop_missing:
        lines = (np.flatnonzero(empty.to_numpy()) + 2).tolist()  # +1 header, +1 one-based
        raise config_error("dataset.drop_missing", "true to drop rows with an empty text or label, or a file "
                           "without them", f"{len(lines)} such rows in {source}, on lines {lines[:10]}"
                           + (" ..." if len(lines) > 10 else ""))
    if empty.any():
        log.warning("%s: dropped %d rows with an empty text or label (dataset.drop_missing)", source, int(empty.sum()))
    return frame[~empty].reset_index(drop=True), int(empty.sum())


def _every_class_trains(train_ids: np.ndarray, classes: list, source: str) -> None:
    """A class with no training example cannot be learned: refuse the split that leaves one out."""
    missing = sorted(set(range(len(classes))) - set(np.unique(train_ids).tolist()))
    if missing:
        raise config_error("dataset.label_column", f"a training example of every class in {source}",
                           f"classes {[classes[i] for i in missing]} only outside the training rows")


def _labels(column: pd.Series, source: str) -> LabelMap:
    labels = LabelMap.fit(column.tolist(), source)
    if len(labels.class_names) < 2:
        raise config_error("dataset.label_column", f"at least two classes in column {column.name!r} of {source}",
                           f"only {labels.class_names}")
    return labels


def _from_train_test(cfg, seed: int, train_x, train_y, test_x, test_y, labels: LabelMap, info: Dict):
    """Shuffle both splits (seeded), carve validation out of train and cap each split at `limit`."""
    tr, va, te = shuffled_split_indices(len(train_x), len(test_x), cfg.val_fraction, seed)
    parts = [(train_x[tr], train_y[tr]), (train_x[va], train_y[va]), (test_x[te], test_y[te])]
    return _vectorized(cfg, parts, labels, info)


def _vectorized(cfg, parts: Sequence[Tuple], labels: LabelMap, info: Dict) -> Tuple[Splits, DataSpec]:
    classes = labels.class_names
    if cfg.limit:  # before vectorising: a quick look at IMDB should not tokenise 50k reviews
        parts = [(x[: cfg.limit], y[: cfg.limit]) for x, y in parts]
    eval_length = cfg.eval_sequence_length or cfg.sequence_length
    vectorizer = TextVectorizer.fit(parts[0][0], cfg.max_tokens, cfg.sequence_length, eval_length, cfg.truncate)
    encode = vectorizer.encode  # (n, length) int32, 0 = padding, 1 = out of vocabulary: as predict and export
    lengths = (cfg.sequence_length, eval_length, eval_length)  # train, val, test
    splits_xy = [(encode(x, n), np.asarray(y, dtype=np.int32)) for (x, y), n in zip(parts, lengths)]
    vocab = vectorizer.vocabulary
    k = len(classes)
    info.update(vocab_size=len(vocab), vocabulary_head=[str(w) for w in vocab[:20]], class_names=classes,
                max_tokens=cfg.max_tokens, sequence_length=cfg.sequence_length, eval_sequence_length=eval_length,
                truncate=cfg.truncate,
                sizes=dict(zip(("train", "val", "test"), (len(x) for x, _ in splits_xy))),
                train_class_counts=np.bincount(splits_xy[0][1], minlength=k).tolist(),
                # share of examples that fill all their split's slots, i.e. that were probably cut off
                full_length_fraction={name: float(np.mean(x[:, -1] != 0)) if len(x) else 0.0
                                      for name, (x, _) in zip(("train", "val", "test"), splits_xy)})
    log.info("%s: vocabulary %d, sizes %s", cfg.name, len(vocab), info["sizes"])
    # longer evaluation rows: sorted by length and cut per batch (TokenSplit), else scoring pays the padded width
    kinds = (ArraySplit,) + (TokenSplit if eval_length > cfg.sequence_length else ArraySplit,) * 2
    # what inference needs to turn new texts into the same ids: the whole vocabulary and the cutting rules
    artifacts = {"vocabulary": [str(w) for w in vocab], "standardize": "seqlab.data.text:standardize",
                 "split": "whitespace", "max_tokens": cfg.max_tokens, "sequence_length": cfg.sequence_length,
                 "eval_sequence_length": eval_length, "truncate": cfg.truncate, "class_names": classes,
                 "transforms": {"text": vectorizer, "labels": labels}}
    splits = Splits(*(kind(x, y) for kind, (x, y) in zip(kinds, splits_xy)), baseline_name="majority class",
                    baseline_fn=majority_class_baseline, info=info, artifacts=artifacts)
    # (time,): None when validation and test are longer than train, so that the model takes any length
    time_steps = cfg.sequence_length if eval_length == cfg.sequence_length else None
    spec = DataSpec(name=cfg.name, task="binary" if k == 2 else "multiclass", input_shape=(time_steps,),
                    output_shape=(), num_classes=k, vocab_size=len(vocab))
    return splits, spec


def _read_text_csv(cfg, data_dir: Optional[str], nrows: Optional[int] = None) -> Tuple[Path, pd.DataFrame, Dict]:
    """(dataset.path, its rows (the first `nrows`), its dialect), with its text/label/split columns checked."""
    path = download.local_path(None if OmegaConf.is_missing(cfg, "path") else cfg.path, "dataset.path", data_dir)
    # every column as text ("NA" is a word, "1" a label); the dialect detected like a series CSV
    from .tabular import read_table

    table = read_table(path, "dataset.path", sep=cfg.sep, encoding=cfg.encoding,
                       as_text=True)
    frame = table.frame
    if nrows is not None:
        frame = frame.head(nrows)
    for key in ("text_column", "label_column", "split_column"):
        col = cfg.get(key)
        if col is not None and col not in frame.columns:
            raise config_error(f"dataset.{key}", f"a column of {path.name}", col, list(frame.columns))
    return path, frame, table.dialect


# --------------------------------------------------------------------------- checks before TensorFlow
def check_text(cfg) -> None:
    from ..config.checks import check, choice, fraction, positive

    ds = cfg.dataset
    positive(ds, "dataset", "max_tokens", "sequence_length")
    fraction(ds, "dataset", "val_fraction", lower_open=True)
    choice(ds, "dataset", "truncate", ["post", "pre"])
    if ds.eval_sequence_length is not None:
        check(ds.eval_sequence_length >= ds.sequence_length, "dataset.eval_sequence_length",
              f"null or a length >= dataset.sequence_length ({ds.sequence_length})", ds.eval_sequence_length)


def check_text_synth(cfg) -> None:
    from ..config.checks import positive

    check_text(cfg)
    positive(cfg.dataset, "dataset", "train_size", "val_size", "test_size")


def check_text_csv(cfg) -> None:
    """The CSV exists and has the text, label (and split) columns and valid labels: the whole file is read, with
    pandas (no TensorFlow)."""
    from ..config.checks import fraction

    check_text(cfg)
    fraction(cfg.dataset, "dataset", "test_fraction", lower_open=True)
    path, frame, _ = _read_text_csv(cfg.dataset, cfg.data_dir)
    frame, _ = clean_rows(frame, cfg.dataset, path.name)
    _labels(frame[cfg.dataset.label_column], path.name)


_TEXT = {"text", "classification"}
REGISTRIES["dataset"].add("text_synth", TextSynthConfig, target="seqlab.data.text:load_text_synth",
                          check=check_text_synth, capabilities=_TEXT)
REGISTRIES["dataset"].add("text_csv", TextCsvConfig, target="seqlab.data.text:load_text_csv",
                          check=check_text_csv, capabilities=_TEXT)
REGISTRIES["dataset"].add("imdb", ImdbConfig, target="seqlab.data.text:load_imdb", check=check_text,
                          capabilities=_TEXT)
