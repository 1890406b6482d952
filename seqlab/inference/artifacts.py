"""What inference needs beyond model.keras, written into the run directory: inference.json, vocabulary.txt,
examples.npz (a few test inputs for export parity checks). inference.json's `transforms` holds the state of
the fitted input transforms (seqlab.data.transforms) that predict and export apply as training did."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from ..data.fitted import states
from ..data.textvec import RESERVED_TOKENS, VOCABULARY_FILE
from ..data.transforms import inside

INFERENCE_FILE = "inference.json"
EXAMPLES_FILE = "examples.npz"
N_EXAMPLES = 64
FORMAT = 1
log = logging.getLogger(__name__)


def inference_info(cfg, splits, spec) -> Dict[str, Any]:
    """The JSON-friendly description of a run's inputs and outputs, from `splits.artifacts` (else `splits.info`)."""
    from ..data.base import WindowSplit

    artifacts = dict(getattr(splits, "artifacts", None) or {})
    info = dict(splits.info or {})

    def get(key, default=None):
        return artifacts.get(key, info.get(key, default))

    dcfg = cfg.dataset
    out: Dict[str, Any] = {
        "format": FORMAT, "dataset": spec.name, "model": cfg.model.name, "task": spec.task,
        "input_shape": list(spec.input_shape), "output_shape": list(spec.output_shape),
        "batch_size": int(cfg.trainer.batch_size),
        "load": "import seqlab, keras; keras.saving.load_model('model.keras')  # or seqlab.load(run_dir)",
    }
    if spec.vocab_size:
        out.update(kind="text", vocab_size=int(spec.vocab_size), max_tokens=get("max_tokens"),
                   sequence_length=get("sequence_length"), eval_sequence_length=get("eval_sequence_length"),
                   truncate=get("truncate", "post"), standardize="lowercase, <br /> to space, strip punctuation",
                   text_column=artifacts.get("text_column", dcfg.get("text_column") or "text"),
                   label_column=artifacts.get("label_column", dcfg.get("label_column") or "label"),
                   dialect=info.get("dialect"))  # the training file's separator: predict reads inputs alike
    elif isinstance(splits.test, WindowSplit):
        norm = get("normalization")
        # the input columns (without the calendar channels that KnownAhead derives from the time column)
        features = artifacts.get("features") or spec.feature_names
        out.update(kind="series", features=list(features), targets=list(spec.target_names),
                   input_len=int(spec.input_shape[0]), horizon=int(spec.output_shape[0]),
                   time_column=artifacts.get("time_column", dcfg.get("time_column")),
                   time_unit=dcfg.get("time_unit"), time_format=dcfg.get("time_format"),
                   time_step=(info.get("time") or {}).get("time_step"),  # the training rows' usual step
                   dialect=info.get("dialect"),
                   normalization={"mean": norm["mean"], "std": norm["std"]} if norm else None)
        if artifacts.get("panel"):  # many series: read in the training layout, scaled per series
            # series_id: the model also takes each window's series (model.series_embedding)
            out.update(kind="panel", series_id=bool(spec.n_series), **artifacts["panel"])
    elif spec.task != "regression":
        norm = get("normalization")
        out.update(kind="ucr", length=int(spec.input_shape[0]), channels=int(spec.input_shape[1]),
                   padding=get("padding"),
                   normalization={"mean": norm["mean"], "std": norm["std"]} if norm else None)
    else:  # e.g. the adding problem: arrays in the model's own units
        out.update(kind="array")
    if spec.task != "regression":
        out.update(class_names=list(get("class_names") or range(spec.num_classes)),
                   train_class_counts=get("train_class_counts"))
    if cfg.model.quantiles:  # outputs (batch, horizon, targets, quantiles); the forecast is the median
        out["quantiles"] = [float(q) for q in cfg.model.quantiles]
    out["transforms"] = states(artifacts.get("transforms") or {})
    return out


def vocabulary(splits) -> Optional[List[str]]:
    """The full vocabulary (index = token id, with the padding and unknown tokens first), when the data gave it."""
    artifacts = getattr(splits, "artifacts", None) or {}
    vocab = artifacts.get("vocabulary") or splits.info.get("vocabulary")
    return [str(w) for w in vocab] if vocab else None


def write_artifacts(run_dir: Path, cfg, splits, spec) -> None:
    """Write inference.json, vocabulary.txt (text runs) and examples.npz into `run_dir`, each atomically."""
    from ..train.outputs import atomic_write, write_json

    run_dir = Path(run_dir)
    meta = inference_info(cfg, splits, spec)
    if meta["kind"] == "text":
        vocab = vocabulary(splits)
        if vocab is None or tuple(vocab[:2]) != RESERVED_TOKENS:
            log.warning("%s: the text data gave no vocabulary starting with %s (Splits.artifacts['vocabulary']): "
                        "this run cannot predict from raw text", run_dir, RESERVED_TOKENS)
        else:
            text = "".join(w + "\n" for w in vocab[2:])
            atomic_write(run_dir / VOCABULARY_FILE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
            meta["vocabulary_file"] = VOCABULARY_FILE
    idx = np.arange(min(N_EXAMPLES, len(splits.test)))
    x, y = splits.test.arrays(idx)
    # panels: each example's series, whose own scaling turns the raw examples into model inputs
    extra = {"series": splits.test.series_index(idx)} if meta["kind"] == "panel" else {}
    # a dict input ({"series", "future"}) is saved key by key: x_series, x_future
    extra.update({f"x_{k}": v for k, v in x.items()} if isinstance(x, dict) else {"x": x})
    atomic_write(run_dir / EXAMPLES_FILE, lambda tmp: np.savez(tmp, y=y, **extra))
    meta["examples_file"] = EXAMPLES_FILE
    write_json(run_dir / INFERENCE_FILE, meta)


def read_inference(run_dir: Path) -> Dict[str, Any]:
    """inference.json of a run, with `transforms` (states) for every kind, also for runs written before they
    were saved; every file it names must lie inside the run directory."""
    from ..config import config_error

    run_dir = Path(run_dir)
    path = run_dir / INFERENCE_FILE
    if not path.is_file():
        raise config_error("RUN_DIR", f"a completed seqlab run directory with {INFERENCE_FILE}",
                           f"{run_dir} (holds {sorted(p.name for p in run_dir.iterdir())[:8]})"
                           if run_dir.is_dir() else f"{run_dir} (no such directory)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError(f"expected a JSON object, got {type(meta).__name__}")
    except (ValueError, UnicodeDecodeError) as e:
        raise config_error("RUN_DIR", f"a readable {INFERENCE_FILE}", f"{path}: {e} (empty or truncated?)") from None
    meta["transforms"] = {**legacy_transforms(meta), **(meta.get("transforms") or {})}
    for state in [meta, *meta["transforms"].values()]:
        for key, name in state.items():
            if key.endswith("_file"):
                inside(run_dir, name)  # e.g. "vocabulary_file": "../../secret.txt" is refused
    if meta.get("kind") == "text" and "text" not in meta["transforms"]:
        raise config_error("RUN_DIR", f"a text run with its {VOCABULARY_FILE}", f"{run_dir} has none")
    return meta


def legacy_transforms(meta: Dict[str, Any]) -> Dict[str, Dict]:
    """Transform states from the keys that inference.json held before `transforms` (format 1, older runs)."""
    kind, norm, out = meta.get("kind"), meta.get("normalization"), {}
    if kind == "series":
        cols = list(dict.fromkeys(meta["features"] + meta["targets"]))
        out["standardize"] = {"kind": "standardize", "columns": cols,
                              "mean": [norm["mean"][c] if norm else 0.0 for c in cols],
                              "std": [norm["std"][c] if norm else 1.0 for c in cols]}
        out["windows"] = {"kind": "windows", "input_len": meta["input_len"], "horizon": meta["horizon"]}
    if kind == "text" and "vocabulary_file" in meta:
        out["text"] = {"kind": "text", "vocabulary_file": meta["vocabulary_file"],
                       "sequence_length": meta["sequence_length"],
                       "eval_sequence_length": meta.get("eval_sequence_length"), "truncate": meta.get("truncate")}
    if kind == "ucr":
        out["pad_series"] = {"kind": "pad_series", "length": meta["length"], "channels": meta.get("channels") or 1,
                             "padding": meta.get("padding"), "mean": norm and norm["mean"], "std": norm and norm["std"]}
    if "class_names" in meta:
        out["labels"] = {"kind": "labels", "class_names": meta["class_names"]}
    return out


def read_examples(run_dir: Path):
    """(x, y) of the few test examples saved with the run, in the model's input form (a dict for a model with
    inputs known ahead)."""
    import zipfile

    from ..config import config_error

    path = Path(run_dir) / EXAMPLES_FILE
    if not path.is_file():
        raise config_error("RUN_DIR", f"a run with {EXAMPLES_FILE} (the test examples export checks parity on; "
                           "runs write it when they complete)", f"{path} is missing")
    try:
        with np.load(path) as z:
            if "x" in z.files:
                return z["x"], z["y"]
            return {k[2:]: z[k] for k in z.files if k.startswith("x_")}, z["y"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise config_error("RUN_DIR", f"a readable {EXAMPLES_FILE}", f"{path}: {type(e).__name__}: {e}") from None


def read_example_series(run_dir: Path) -> np.ndarray:
    """Panel runs: the series index of each saved test example (examples.npz "series")."""
    from ..config import config_error

    read_examples(run_dir)  # a missing or unreadable file is refused there
    with np.load(Path(run_dir) / EXAMPLES_FILE) as z:
        if "series" not in z:
            raise config_error("RUN_DIR", f"a panel run whose {EXAMPLES_FILE} holds each example's series",
                               f"{run_dir} has none")
        return z["series"]
