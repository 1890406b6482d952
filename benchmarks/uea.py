"""Series classification on the UEA/UCR sets the sktime wheel ships: candidates chosen on validation, test reported.

Fetches the sktime wheel with pip (no dependencies, nothing installed) unless --sktime-wheel names one, unpacks its
`sktime/datasets/data/<Name>/<Name>_TRAIN.ts` / `_TEST.ts`, and runs the CLI one run at a time per candidate and
set. The candidate with the best validation accuracy (validation: 20% carved from the training file; ties: lower
validation loss) is the set's pick; test accuracy is printed beside Fawaz et al. 2019's FCN and ResNet. Candidates
without a validation split (`fcn_small`, `*_all`: the whole training file) are shown beside the pick, never picked.

    python benchmarks/uea.py --out /tmp/uea [--sets BasicMotions JapaneseVowels] [--candidates fcn lstm]
    python benchmarks/uea.py --out /tmp/uea --sets ArrowHead GunPoint ItalyPowerDemand --candidates fcn_small
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import zipfile
from pathlib import Path

from cli_runs import run_cli

# multivariate sets first (the preset was developed on them); then univariate UCR sets the wheel also ships
SETS = {"BasicMotions": [], "JapaneseVowels": ["dataset.padding=post"], "ArrowHead": [], "GunPoint": [],
        "ItalyPowerDemand": []}
CANDIDATES = {
    "fcn": ["experiment=uea_fcn"],
    "fcn_bn": ["experiment=uea_fcn", "model.batch_norm=true"],  # FCN's block: conv -> batch norm -> ReLU
    # Fawaz et al.'s protocol for small sets: the whole training file, stopped on the training loss (no
    # validation, so never picked: shown beside the picked candidate)
    "fcn_all": ["experiment=uea_fcn", "dataset.val_fraction=0"],
    "fcn_bn_all": ["experiment=uea_fcn", "model.batch_norm=true", "dataset.val_fraction=0"],
    # ... and Fawaz et al.'s schedule (the rate halved after 50 epochs without a lower training loss): the preset
    "fcn_small": ["experiment=uea_fcn_small"],
    # the recurrent alternative, with the preset's budget (cap, batch, patience) and per-epoch logging
    "lstm": ["dataset=ucr", "model=lstm", "model.units=64", "trainer.epochs=500", "trainer.batch_size=16",
             "trainer.patience=50", "trainer.checkpoint.every=50", "trainer.tensorboard.histogram_freq=0"],
}
# Ismail Fawaz et al. 2019, "Deep learning for time series classification: a review", mean (std) test accuracy %
# of 10 runs, from the authors' github.com/hfawaz/dl-4-tsc results/results-mts-avg-std.csv (JapaneseVowels, MTS
# archive) and results/results-uea-avg-std.csv (UCR 2015 archive). BasicMotions is not in the paper.
FAWAZ = {"JapaneseVowels": ("99.3 (0.2)", "99.2 (0.3)"), "ArrowHead": ("84.3 (1.5)", "84.5 (1.2)"),
         "GunPoint": ("100.0 (0.0)", "99.1 (0.7)"), "ItalyPowerDemand": ("96.1 (0.3)", "96.3 (0.4)")}


def sktime_data(out: Path, wheel: Path = None) -> Path:
    """The unpacked `sktime/datasets/data` folder of the sktime wheel (downloaded with pip when not given)."""
    if wheel is None:
        found = sorted((out / "wheel").glob("sktime-*.whl"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "sktime", "--no-deps", "-d", str(out / "wheel")],
                           check=True)
            found = sorted((out / "wheel").glob("sktime-*.whl"))
        wheel = found[-1]
    with zipfile.ZipFile(wheel) as z:
        z.extractall(out / "sktime", [n for n in z.namelist() if n.endswith(".ts")])
    return out / "sktime" / "sktime" / "datasets" / "data"


def best_val(run_dir: Path, best_epoch: int) -> tuple:
    """(val accuracy, val loss) at the best epoch (whose weights early stopping restored); (None, None) for a run
    without a validation split (dataset.val_fraction=0)."""
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    row = rows[best_epoch - 1]
    if "val_accuracy" not in row:
        return None, None
    return float(row["val_accuracy"]), float(row["val_loss"])


def run(data: Path, name: str, candidate: str, out: Path) -> dict:
    run_dir = out / "runs" / f"{name}-{candidate}"
    m = run_cli([*CANDIDATES[candidate], f"dataset.train_path={data / name / name}_TRAIN.ts",
                 f"dataset.test_path={data / name / name}_TEST.ts", *SETS[name], "trainer.verbose=0"], run_dir)
    val_acc, val_loss = best_val(run_dir, m["best_epoch"])
    return {"val_accuracy": val_acc, "val_loss": val_loss, "test": m["test"]["accuracy"],
            "baseline": m["baseline"]["accuracy"], "epochs": m["epochs"], "best_epoch": m["best_epoch"],
            "sizes": m["examples"], "wall": m["wall"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/uea"))
    ap.add_argument("--sktime-wheel", type=Path, help="a downloaded sktime wheel (default: pip download)")
    ap.add_argument("--sets", nargs="*", default=["BasicMotions", "JapaneseVowels"], choices=list(SETS))
    ap.add_argument("--candidates", nargs="*", default=["fcn", "lstm"], choices=list(CANDIDATES))
    args = ap.parse_args()
    data = sktime_data(args.out, args.sktime_wheel)
    print("| set | train / val / test | candidate | val acc (best epoch) | epochs run | test acc | majority class |"
          " Fawaz FCN | Fawaz ResNet | wall |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    picks = {}
    for name in args.sets:
        results = {c: run(data, name, c, args.out) for c in args.candidates}
        validated = [c for c in results if results[c]["val_accuracy"] is not None]
        pick = max(validated, key=lambda c: (results[c]["val_accuracy"], -results[c]["val_loss"]), default=None)
        picks[name] = pick
        fcn, resnet = FAWAZ.get(name, ("–", "–"))
        for c, r in results.items():
            s = r["sizes"]
            val = "– (training loss)" if r["val_accuracy"] is None else f"{100 * r['val_accuracy']:.1f}"
            print(f"| {name} | {s['train']} / {s['val']} / {s['test']} | {c}{' (picked)' if c == pick else ''} | "
                  f"{val} ({r['best_epoch']}) | {r['epochs']} | {100 * r['test']:.1f} | "
                  f"{100 * r['baseline']:.1f} | {fcn} | {resnet} | {r['wall']:.0f} s |", flush=True)
    print(f"\npicked on validation: {picks}; one run per candidate and set (seed 0), one at a time")


if __name__ == "__main__":
    main()
