"""The labelled learning-curve corpus (tests/data/curve_corpus.json): real runs, each made to show one condition.

Each case is one `python -m seqlab` command, run as written (its exact command is stored with its curves); the label is
the condition the command sets up (a learning rate 1000x too small, labels shuffled, heavy dropout, ...), checked by
eye against the curves; where the curves showed something else, the label is what they show and `why` says so.
Stored per run: the per-epoch train/validation loss, the optimisation signals seqlab logs (global gradient norm on
the probe batch, update-to-weight ratio), optimizer steps per epoch, the test metric and the naive baseline's.
tests/test_curve_corpus.py asserts that the diagnosis gives every run its label.

    SEQLAB_DATA_DIR=/work/shared/datasets python benchmarks/curve_corpus.py [--only ID ...] [--work /tmp/corpus]

Runs already finished under --work are read, not rerun. Each run took 20 s to 5 min of wall time on a shared,
loaded 2-core machine (load average 9-11); about 45 minutes of wall time in all there.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "curve_corpus.json"
QUIET = ["trainer.tensorboard.histogram_freq=0", "trainer.tensorboard.write_graph=false",
         "trainer.checkpoint.every=0"]  # the curves and signals only: no histograms, graphs or checkpoints
SHUFFLED = "imdb_shuffled.csv"  # written by shuffled_imdb(): 800 IMDB reviews with their labels permuted
SHUFFLED_4K = "imdb_shuffled_4k.csv"  # 4,000 reviews, labels permuted

# id -> (label, overrides, why)
CASES = {
    # ---- over-fitting: capacity to spare, little data, long after the best validation epoch
    "textsynth_lstm128_overfit": ("over-fitting", "dataset=text_synth dataset.limit=200 model=lstm model.units=128 "
                                  "trainer.epochs=40 trainer.patience=1000", "the issue's first case"),
    "sine_overfit": ("over-fitting", "experiment=sine_overfit", "a GRU-128 on 500 noisy windows"),
    "textsynth_gru128_overfit": ("over-fitting", "dataset=text_synth dataset.limit=200 model=gru model.units=128 "
                                 "trainer.epochs=30", "GRU-128 on 200 texts"),
    "sine_rnn_overfit": ("over-fitting", "dataset=sine dataset.length=700 dataset.noise=0.5 model=simplernn "
                         "model.units=128 model.norm=none trainer.epochs=40 trainer.batch_size=32",
                         "SimpleRNN-128 on 400 very noisy windows"),
    "textsynth_conv_overfit": ("over-fitting", "dataset=text_synth dataset.limit=150 model=conv1d model.filters=128 "
                               "trainer.epochs=40 trainer.lr=0.003", "Conv1D-128 on 150 texts"),
    "shuffled_imdb_lstm": ("over-fitting", f"dataset=text_csv dataset.path={{work}}/{SHUFFLED} dataset.max_tokens=3000 "
                           "dataset.sequence_length=64 model=lstm model.units=64 trainer.epochs=25",
                           "shuffled labels, memorised: the training loss falls, validation rises"),
    # ---- still learning: stopped long before convergence
    "sine_lstm_short": ("still-learning", "dataset=sine model=lstm trainer.epochs=5 trainer.lr=0.0003",
                        "5 epochs at a modest rate"),
    "sine_gru_short": ("still-learning", "dataset=sine model=gru trainer.epochs=6 trainer.lr=0.0003", "6 epochs"),
    "adding_lstm_plateau": ("plateau", "dataset=adding dataset.train_size=2000 dataset.length=30 model=lstm "
                            "trainer.epochs=6", "the adding problem's plateau at the mean prediction (mse 0.16 against "
                            "the baseline's 0.17) before an LSTM finds the markers"),
    "etth1_gru_short": ("still-learning", "dataset=etth1 dataset.limit=2000 model=gru trainer.epochs=5 "
                        "trainer.lr=0.0002", "ETTh1, 5 epochs at a fifth of the default rate"),
    "textsynth_conv_plateau": ("plateau", "dataset=text_synth dataset.limit=1000 model=conv1d trainer.epochs=5 "
                               "trainer.lr=0.0003", "5 epochs at 3e-4: the loss stays at chance (0.693) until the "
                               "model finds the rule, which it does at 0.003 (textsynth_conv_overfit)"),
    # ---- learning rate too high: Adam/SGD at rates 100-1000x the default
    "sine_lstm_lr1": ("lr-too-high", "dataset=sine model=lstm trainer.epochs=8 trainer.lr=1.0", "Adam at 1.0"),
    "textsynth_lstm_lr1": ("lr-too-high", "dataset=text_synth dataset.limit=1000 model=lstm trainer.epochs=8 "
                           "trainer.lr=1.0", "Adam at 1.0"),
    "sine_conv_lr05": ("lr-too-high", "dataset=sine model=conv1d trainer.epochs=8 trainer.lr=0.5", "Adam at 0.5"),
    "etth1_gru_lr05": ("lr-too-high", "dataset=etth1 dataset.limit=2000 model=gru trainer.epochs=6 trainer.lr=0.5",
                       "Adam at 0.5 on ETTh1"),
    # ---- learning rate too low: 1000x below the default, the weights barely move
    "sine_lstm_lr1e-6": ("lr-too-low", "dataset=sine model=lstm trainer.epochs=8 trainer.lr=1e-6", "Adam at 1e-6"),
    "textsynth_gru_lr1e-6": ("lr-too-low", "dataset=text_synth dataset.limit=1000 model=gru trainer.epochs=8 "
                             "trainer.lr=1e-6", "Adam at 1e-6"),
    "etth1_lstm_lr1e-6": ("lr-too-low", "dataset=etth1 dataset.limit=2000 model=lstm trainer.epochs=6 "
                          "trainer.lr=1e-6", "Adam at 1e-6 on ETTh1"),
    "adding_gru_sgd1e-5": ("lr-too-low", "dataset=adding dataset.train_size=2000 dataset.length=30 model=gru "
                           "trainer.optimizer=sgd trainer.lr=1e-5 trainer.epochs=8", "plain SGD at 1e-5"),
    # ---- noisy validation: a validation split of a few dozen examples
    "textsynth_noisyval": ("noisy-validation", "dataset=text_synth dataset.train_size=1000 dataset.val_size=24 "
                           "model=gru trainer.epochs=20 trainer.lr=0.003", "24 validation texts"),
    "adding_smallval": ("suspicious-data", "dataset=adding dataset.train_size=2000 dataset.val_size=16 "
                        "dataset.length=30 model=gru trainer.epochs=20 trainer.lr=0.003",
                        "meant as noisy validation, but the 16 validation sequences are by chance easier than "
                        "training: validation lies 20%+ below training in 11 of 20 epochs"),
    "textsynth_lstm_noisyval": ("noisy-validation", "dataset=text_synth dataset.train_size=1000 dataset.val_size=20 "
                                "model=lstm trainer.epochs=20 trainer.lr=0.003", "20 validation texts"),
    # ---- validation easier than training: dropout acts on training batches only
    "sine_lstm_dropout": ("suspicious-data", "dataset=sine model=lstm regularizer=dropout regularizer.dropout=0.8 "
                          "trainer.epochs=10", "dropout 0.8: the training loss stays high, validation falls"),
    "sine_gru_dropout": ("still-learning", "dataset=sine model=gru regularizer=dropout regularizer.dropout=0.8 "
                         "trainer.epochs=10", "meant as suspicious data (dropout 0.8), but here training falls too and "
                         "validation lies 20%+ below it in only 4 of 10 epochs: both still falling"),
    "adding_lstm_dropout": ("suspicious-data", "dataset=adding dataset.train_size=2000 dataset.length=30 model=lstm "
                            "regularizer=dropout regularizer.dropout=0.8 trainer.epochs=10", "dropout 0.8"),
    "shuffled_imdb_conv": ("over-fitting", f"dataset=text_csv dataset.path={{work}}/{SHUFFLED} "
                           "dataset.max_tokens=3000 dataset.sequence_length=64 model=conv1d model.filters=8 "
                           "regularizer=l2 trainer.epochs=12", "meant as no-signal (shuffled labels, a small "
                           "regularised model), but even 8 filters memorise 640 reviews after epoch 6"),
    "shuffled_imdb_gru": ("over-fitting", f"dataset=text_csv dataset.path={{work}}/{SHUFFLED} dataset.max_tokens=3000 "
                          "dataset.sequence_length=64 model=gru model.units=8 regularizer=l2 trainer.epochs=12",
                          "meant as no-signal, but a GRU-8 memorises the shuffled labels too"),
    # ---- shuffled labels that the model cannot memorise (4,000 reviews, strong L2): nothing to learn
    "shuffled_imdb4k_gru": ("no-signal", f"dataset=text_csv dataset.path={{work}}/{SHUFFLED_4K} "
                            "dataset.max_tokens=1000 dataset.sequence_length=32 model=gru model.units=4 "
                            "regularizer=l2 regularizer.l2=0.01 trainer.epochs=10", "shuffled labels, strong L2"),
    "shuffled_imdb4k_conv": ("no-signal", f"dataset=text_csv dataset.path={{work}}/{SHUFFLED_4K} "
                             "dataset.max_tokens=1000 dataset.sequence_length=32 model=conv1d model.filters=4 "
                             "regularizer=l2 regularizer.l2=0.01 trainer.epochs=10", "shuffled labels, strong L2"),
    # ---- converged and better than the naive baseline
    "sine_gru_long": ("still-learning", "dataset=sine model=gru trainer.epochs=40 trainer.patience=5 "
                      "trainer.lr=0.003", "meant as converged, but early stopping never triggered: validation still "
                      "improves at epoch 39 of 40"),
    "sine_linear_converged": ("converged", "dataset=sine model=linear trainer.epochs=40 trainer.patience=5 "
                              "trainer.lr=0.01", "a linear model on sines, early-stopped"),
    "textsynth_conv_converged": ("converged", "dataset=text_synth dataset.limit=1500 model=conv1d trainer.epochs=30 "
                                 "trainer.patience=4", "text_synth solved, early-stopped"),
    "etth1_linear_converged": ("converged", "dataset=etth1 model=linear trainer.epochs=30 trainer.patience=3 "
                               "trainer.lr=0.003", "a linear model on ETTh1, early-stopped"),
    "adding_gru_solved": ("still-learning", "dataset=adding dataset.train_size=3000 dataset.length=20 model=gru "
                          "trainer.epochs=40 trainer.lr=0.003 trainer.patience=4", "meant as converged: the adding "
                          "problem is solved (test mse 1/1000 of the baseline's), but early stopping never triggered "
                          "and validation still halves every ~10 epochs"),
}


def shuffled_imdb(work: Path, half: int = 400, name: str = SHUFFLED) -> None:
    """2 x `half` IMDB reviews (the first of each label) with the labels permuted (seed 0): inputs that predict
    nothing."""
    src = Path(os.environ.get("SEQLAB_DATA_DIR", "/work/shared/datasets")) / "imdb_reviews.csv.gz"
    with gzip.open(src, "rt", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f)]
    pos = [r for r in rows if r["label"] == "1"][:half]
    neg = [r for r in rows if r["label"] == "0"][:half]
    texts = [r["text"] for r in pos + neg]
    labels = np.random.default_rng(0).permutation(["1"] * half + ["0"] * half)
    with open(work / name, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(zip(texts, labels))


def _sig(x, digits=5):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(f"{x:.{digits}g}")


def read_run(run: Path) -> dict:
    import pandas as pd
    import yaml

    m = json.loads((run / "metrics.json").read_text())
    h = pd.read_csv(run / "history.csv")
    cfg = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    batch = int(cfg["trainer"]["batch_size"])
    metric = "mse" if m["task"] == "regression" else "accuracy"
    return {"dataset": m["dataset"], "model": m["model"], "task": m["task"],
            "steps_per_epoch": math.ceil(m["examples"]["train"] / batch), "lr": cfg["trainer"]["lr"],
            "max_epochs": cfg["trainer"]["epochs"], "patience": cfg["trainer"].get("patience"),
            "metric": metric, "status": m["status"],
            "test": _sig((m.get("test") or {}).get(metric)), "baseline": _sig((m.get("baseline") or {}).get(metric)),
            "history": {k: [_sig(v) for v in h[k]] for k in ("loss", "val_loss", "grad_norm", "update_ratio")
                        if k in h}}


FIGURES = {"over-fitting": "textsynth_lstm128_overfit", "still-learning": "sine_gru_short",
           "lr-too-high": "sine_lstm_lr1", "lr-too-low": "sine_lstm_lr1e-6", "noisy-validation": "textsynth_noisyval",
           "suspicious-data": "sine_lstm_dropout", "no-signal": "shuffled_imdb4k_gru",
           "converged": "etth1_linear_converged", "plateau": "adding_lstm_plateau"}


def figures(folder: Path) -> int:
    """docs/img/diagnosis/<label>.png: one corpus run per label, its losses and its update-to-weight ratio per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlab.train.outputs import atomic_write

    corpus = json.loads(OUT.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    for label, cid in FIGURES.items():
        run = corpus[cid]
        h = run["history"]
        x = np.arange(1, len(h["loss"]) + 1)
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        ax.plot(x, h["loss"], "o-", ms=3, label="train loss")
        if "val_loss" in h:
            ax.plot(x, h["val_loss"], "s-", ms=3, label="validation loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if max(h["loss"]) > 20 * min(h["loss"]):
            ax.set_yscale("log")
        bx = ax.twinx()
        bx.plot(x, np.asarray(h["update_ratio"], float) / run["steps_per_epoch"], ":", color="0.4",
                label="update / weight per step")
        bx.set_yscale("log")
        bx.set_ylabel("update / weight per step", color="0.4")
        ax.legend(loc="upper right", fontsize=7)
        ax.set_title(f"{label}: {cid}", fontsize=9)
        fig.tight_layout()
        atomic_write(folder / f"{label}.png", lambda tmp, f=fig: f.savefig(tmp, dpi=90))
        plt.close(fig)
    print(f"{len(FIGURES)} figures in {folder}")
    return 0


def _status(run: Path) -> str:
    try:
        return json.loads((run / "metrics.json").read_text()).get("status", "")
    except (OSError, ValueError):
        return ""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path("/tmp/seqlab_curve_corpus"))
    p.add_argument("--only", nargs="*")
    p.add_argument("--figures", type=Path, help="only draw one PNG per label from the stored corpus into this folder")
    args = p.parse_args()
    if args.figures:
        return figures(args.figures)
    args.work.mkdir(parents=True, exist_ok=True)
    if not (args.work / SHUFFLED).exists():
        shuffled_imdb(args.work)
    if not (args.work / SHUFFLED_4K).exists():
        shuffled_imdb(args.work, 2000, SHUFFLED_4K)
    corpus = {k: v for k, v in (json.loads(OUT.read_text()) if OUT.exists() else {}).items() if k in CASES}
    for cid, (label, overrides, why) in CASES.items():
        if args.only and cid not in args.only:
            continue
        run = args.work / cid
        words = shlex.split(overrides.format(work=args.work))
        command = ["python", "-m", "seqlab", *words]
        if _status(run) not in ("completed", "diverged"):
            shutil.rmtree(run, ignore_errors=True)  # a failed or half-written run: train it again
            t0 = time.time()
            done = subprocess.run([sys.executable, "-m", "seqlab", *words, *QUIET, f"hydra.run.dir={run}"],
                                  capture_output=True, text=True)
            print(f"{cid}: exit {done.returncode} in {time.time() - t0:.0f} s", flush=True)
            if not (run / "metrics.json").exists():  # a diverged run (exit 3) still has its curves
                print(done.stderr[-1500:], file=sys.stderr)
                continue
        corpus[cid] = {"label": label, "why": why,
                       "command": shlex.join(command).replace(str(args.work), "<work>"), **read_run(run)}
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(corpus, indent=0, sort_keys=False) + "\n")
    print(f"{len(corpus)} runs in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
