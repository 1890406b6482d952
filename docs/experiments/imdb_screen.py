"""Screen variants of the imdb_bilstm preset through seqlab's own stages: validation *and* test after every epoch.

Diagnosis only: the preset is chosen on validation; test is printed to see where the test optimum lies
relative to the epoch that early stopping would pick. Each variant is a set of config overrides of
`experiment=imdb_bilstm`, trained by `seqlab.train.stages` (prepare, make_callbacks, fit) exactly as
`python -m seqlab experiment=imdb_bilstm ...` trains it, plus one extra callback that scores the test split
(`stages.evaluate`) at the end of every epoch. Every epoch runs (`trainer.patience=null`), with TensorBoard,
checkpoints and the progress bar off.

    SEQLAB_DATA_DIR=../shared/datasets python docs/experiments/imdb_screen.py --seed 1 --tag preset
    ... --batch 128 | --lr 5e-4 | --emb 64 | --units 128 | --drop 0.4 | --pool average | --max_tokens 10000
    ... --len 400 | --eval_len 300 | --adv 0 | --limit 200 --epochs 1 (a smoke test) | any seqlab override

Flag -> override: --seed seed, --epochs trainer.epochs, --batch trainer.batch_size, --lr trainer.lr,
--emb model.embedding_dim, --units model.units, --drop regularizer.dropout, --pool model.pooling,
--max_tokens dataset.max_tokens, --len dataset.sequence_length, --eval_len dataset.eval_sequence_length,
--adv regularizer.adversarial, --limit dataset.limit; a flag not given keeps the preset's value. Each line
printed (and appended to --out) is one epoch as JSON, then one result row (`"result": true`) with the epoch
early stopping on val_loss would pick.

Removed with the script's own model (2026-11; seqlab has no option for them). Their rows in docs/RESULTS.md
(IMDB, second to fourth rounds) came from the old standalone script, which git history keeps:
- `--sdrop P`: SpatialDropout1D on the embeddings.
- `--wdrop P`: word dropout, whole tokens dropped (masked) in training.
- `--pool meanmax`: masked max and mean pooling concatenated (`--pool` now takes seqlab's last, average, max).
- `--skip`: the embeddings concatenated to the BiLSTM outputs before pooling (RCNN, Lai et al. 2015).
- `--ema M`: Adam with `use_ema` (weight averaging).
- `--punct`: `!` and `?` kept as tokens (seqlab strips all punctuation).
- `--crop`: training on a random `--len` window of each longer review, redrawn every epoch.
- `--w2v`: embeddings initialised with skip-gram word2vec on the training reviews (gensim).
- `--probs`: each epoch's val/test probabilities saved, for epoch and seed ensembles.
- `--cache`: the whole-review token cache, and scoring at two lengths per epoch (the training cut and
  `--eval_len`); seqlab scores validation and test at one length, `dataset.eval_sequence_length`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402  (after the log-level setting)

from seqlab.config import compose  # noqa: E402
from seqlab.train import stages  # noqa: E402

# flag -> the config key it overrides
FLAGS = {"seed": "seed", "epochs": "trainer.epochs", "batch": "trainer.batch_size", "lr": "trainer.lr",
         "emb": "model.embedding_dim", "units": "model.units", "drop": "regularizer.dropout",
         "pool": "model.pooling", "max_tokens": "dataset.max_tokens", "len": "dataset.sequence_length",
         "eval_len": "dataset.eval_sequence_length", "adv": "regularizer.adversarial", "limit": "dataset.limit"}
SCREEN = ["trainer.patience=null", "trainer.verbose=0", "trainer.tensorboard.enabled=false",
          "trainer.checkpoint.every=0"]  # every epoch runs; nothing but the rows is kept


class TestEveryEpoch(keras.callbacks.Callback):
    """At each epoch's end: the test split's metrics next to the epoch's own, as one row for `emit`."""

    def __init__(self, test_split, batch_size: int, emit):
        super().__init__()
        self.test, self.batch_size, self.emit = test_split, batch_size, emit

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._t0  # training and validation, not this test pass
        test = stages.evaluate(self.model, self.test, self.batch_size)
        logs = logs or {}
        self.emit(dict(epoch=epoch + 1, train_loss=logs.get("loss"), val_loss=logs.get("val_loss"),
                       val_acc=logs.get("val_accuracy"), test_loss=test["loss"], test_acc=test["accuracy"],
                       sec=round(seconds, 1)))


def overrides(args) -> list:
    """The variant as config overrides: one per flag given, then the free overrides."""
    given = [f"{key}={getattr(args, flag)}" for flag, key in FLAGS.items() if getattr(args, flag) is not None]
    return given + args.overrides


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, key in FLAGS.items():
        kind = float if flag in ("lr", "drop", "adv") else str if flag == "pool" else int
        p.add_argument(f"--{flag}", type=kind, default=None, help=f"-> {key}")
    p.add_argument("overrides", nargs="*", help="further seqlab overrides, e.g. trainer.optimizer=adamw")
    p.add_argument("--tag", default="")
    p.add_argument("--out", default="/tmp/imdb_screen/screen.jsonl", help="every row is appended here too")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)

    variant = overrides(args)
    cfg = compose(["experiment=imdb_bilstm"] + variant + SCREEN)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    rows = []

    def emit(row: dict) -> None:
        row = {"tag": args.tag, "seed": cfg.seed,
               **{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}}
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)

    prepared = stages.prepare(cfg)
    with tempfile.TemporaryDirectory() as run_dir:  # checkpoints are off: only make_callbacks looks here
        cbs = stages.make_callbacks(cfg, run_dir, prepared, [TestEveryEpoch(prepared.splits.test,
                                                                            cfg.trainer.batch_size, emit)])
        ended = stages.fit(prepared, cfg, cbs)
    if ended.status != "completed":
        raise SystemExit(f"training {ended.status}: {ended.details}")
    picked = min(rows, key=lambda r: r["val_loss"])  # what early stopping on val_loss would keep
    emit(dict(result=True, overrides=variant, picked_epoch=picked["epoch"], val_loss=picked["val_loss"],
              val_acc=picked["val_acc"], test_acc=picked["test_acc"], test_acc_per_epoch=[r["test_acc"] for r in rows],
              examples={"train": len(prepared.splits.train), "test": len(prepared.splits.test)},
              sec=round(sum(r["sec"] for r in rows), 1)))


if __name__ == "__main__":
    main()
