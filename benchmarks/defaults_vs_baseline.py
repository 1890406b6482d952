"""Each dataset family's default run against its naive baseline (--families, the default), or the default model on
real series before and after model.norm=auto (--series).

--families: the command a user types first for each kind of data, run one at a time exactly as a user would
(`python -m seqlab`, `python -m seqlab dataset=csv dataset.path=<file>`, ...; plus hydra.run.dir, which only says where
the run lands), on the embedded data and on small generated files (a 600-row hourly CSV, 2,000 labelled reviews, a
GunPoint-like UCR pair of 50 / 150 series of length 150) and IMDB (first --imdb-limit reviews per split) when
--data-dir has it. "before" adds what the defaults were before conf/family/ (`~family`: the trainer's 10 epochs, no
early stopping) and model=lstm for dataset=ucr. Prints the markdown table of docs/defaults.md.

--series: statsmodels' bundled series (its wheel is downloaded, nothing installed) and ETTh2's OT column as one-column
CSVs, before (model.norm=none) and after model.norm=auto; the table of docs/results-history.md.

    nice -n 19 python benchmarks/defaults_vs_baseline.py --out /tmp/defaults --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from cli_runs import run_cli

# name -> (file in the statsmodels wheel, column, what it is like)
STATSMODELS = {
    "co2": ("co2/co2.csv", "co2", "trend + strong yearly season, weekly, 2,284 rows"),
    "sunspots": ("sunspots/sunspots.csv", "SUNACTIVITY", "~11-year cycles, yearly, 309 rows"),
    "nile": ("nile/nile.csv", "volume", "short: 100 yearly flows"),
    "realgdp": ("macrodata/macrodata.csv", "realgdp", "trend, quarterly, 203 rows"),
}
VARIANTS = {"before": ["model.norm=none"], "after": []}
OLD_TRAINER = ["~family"]  # the defaults before conf/family/: the trainer's 10 epochs, no early stopping


def statsmodels_wheel(where: Path) -> Path:
    """The statsmodels wheel in `where`, downloaded there with pip (no dependencies, nothing installed)."""
    found = sorted(where.glob("statsmodels-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "statsmodels", "--no-deps", "-d", str(where)],
                       check=True)
        found = sorted(where.glob("statsmodels-*.whl"))
    return found[-1]


def prepare(wheel: Path, data_dir: Path, out: Path) -> dict:
    """name -> (one-column CSV path, description); co2's missing weeks are interpolated (the file has gaps)."""
    out.mkdir(parents=True, exist_ok=True)
    series = {}
    with zipfile.ZipFile(wheel) as z:
        for name, (member, column, what) in STATSMODELS.items():
            values = pd.read_csv(io.BytesIO(z.read(f"statsmodels/datasets/{member}")))[column].astype(float)
            series[name] = (values.interpolate(limit_direction="both"), what)
    with gzip.open(data_dir / "ETTh2.csv.gz") as f:  # oil temperature of ETT station 2: close to a random walk
        series["etth2_ot"] = (pd.read_csv(f)["OT"].astype(float), "random-walk-like, hourly, 17,420 rows")
    paths = {}
    for name, (values, what) in series.items():
        path = out / f"{name}.csv"
        pd.DataFrame({name: values}).to_csv(path, index=False)
        paths[name] = (path, what)
    return paths


def row(name: str, what: str, variant: str, m: dict) -> str:
    test, base = m["test"]["mse"], m["baseline"]["mse"]
    return (f"| {name} | {what} | {variant} (norm {m.get('norm', 'none')}) | {test:.4g} | {base:.4g} | "
            f"{test / base:.3g} | {m['diagnosis']['verdict']} | {m['wall']:.0f} s |")


def family_files(out: Path) -> dict:
    """Small generated files of each kind: a 600-row hourly CSV, 2,000 labelled reviews, a GunPoint-like UCR pair."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(600)
    pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=600, freq="h").astype(str),
                  "load": 10 + 3 * np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168)
                  + rng.normal(0, 0.3, 600)}).to_csv(out / "load.csv", index=False)
    good, bad = ["great", "wonderful", "loved", "superb"], ["awful", "boring", "hated", "dull"]
    filler = ["the", "film", "plot", "was", "and", "acting", "a", "story", "really", "quite"]
    rows = []
    for _ in range(2000):
        label = int(rng.integers(2))
        words = list(rng.choice(filler, 12)) + [str(rng.choice(good if label else bad))]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": "pos" if label else "neg"})
    pd.DataFrame(rows).to_csv(out / "reviews.csv", index=False)
    for split, n in (("TRAIN", 50), ("TEST", 150)):
        x, y = gunpoint_like(n, rng)
        np.savetxt(out / f"GunPointLike_{split}.tsv", np.column_stack([y, x]), delimiter="\t", fmt="%.5g")
    return {"load": out / "load.csv", "reviews": out / "reviews.csv",
            "train": out / "GunPointLike_TRAIN.tsv", "test": out / "GunPointLike_TEST.tsv"}


def gunpoint_like(n: int, rng) -> tuple:
    """(n, 150) series and labels 1/2 shaped like UCR's GunPoint: a hand raised and lowered (a smooth plateau at a
    random time); class 2 ("gun") dips before and after it (drawing from and returning to the holster)."""
    t = np.arange(150)[None, :]
    y = rng.integers(1, 3, n)
    c, w, a = rng.uniform(60, 90, (n, 1)), rng.uniform(15, 25, (n, 1)), rng.uniform(1.5, 2.5, (n, 1))
    x = a / (1 + np.exp(-(t - c + w) / 3)) / (1 + np.exp((t - c - w) / 3))  # (n, 150): up, hold, down
    dips = np.exp(-((t - c + 1.3 * w) / 4) ** 2) + np.exp(-((t - c - 1.3 * w) / 4) ** 2)
    x -= 0.25 * a * dips * (y[:, None] == 2)
    return x + rng.normal(0, 0.05, x.shape), y


def family_commands(files: dict, data_dir: Path, imdb_limit: int) -> list:
    """(family, what the data is, the command's overrides) of each family's first run."""
    out = [("sine", "embedded: 2 noisy sums of sines, 4,000 steps", []),
           ("csv", "600 hourly rows, daily + weekly cycle", ["dataset=csv", f"dataset.path={files['load']}",
                                                              "dataset.time_column=timestamp"]),
           ("text_synth", "embedded: 4,000 texts, negation flips the label", ["dataset=text_synth"]),
           ("text_csv", "2,000 generated reviews", ["dataset=text_csv", f"dataset.path={files['reviews']}"]),
           ("ucr", "GunPoint-like: 50 / 150 series of 150 steps",
            ["dataset=ucr", f"dataset.train_path={files['train']}", f"dataset.test_path={files['test']}"])]
    if (data_dir / "imdb_reviews.csv.gz").is_file():
        out.append(("imdb", f"IMDB, first {imdb_limit:,} reviews a split", ["dataset=imdb",
                                                                           f"dataset.limit={imdb_limit}",
                                                                           f"data_dir={data_dir.resolve()}"]))
    return out


def family_row(family: str, what: str, variant: str, m: dict) -> str:
    metric = "mse" if m["task"] == "regression" else "accuracy"
    d = m.get("diagnosis") or {}
    best = m.get("best_epoch")
    return (f"| {family} | {what} | {variant} ({m['model']}) | {metric} | {m['test'][metric]:.4g} | "
            f"{m['baseline'][metric]:.4g} | {m['epochs']}" + (f" (best {best})" if best else "") +
            f" | {d.get('verdict', '')} | {m['wall']:.0f} s |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/defaults_vs_baseline"))
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    ap.add_argument("--series", action="store_true", help="the model.norm table on real series instead")
    ap.add_argument("--statsmodels-wheel", type=Path, help="a downloaded statsmodels wheel (default: pip download)")
    ap.add_argument("--only", nargs="*", help="family or series names (default: all)")
    ap.add_argument("--imdb-limit", type=int, default=2000)
    ap.add_argument("--variants", nargs="*", default=["before", "after"], help="before, after or both")
    args = ap.parse_args()
    if args.series:
        return series_table(args)
    files = family_files(args.out / "files")
    print("| family | data | run (model) | metric | test | naive baseline | epochs | verdict | wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for family, what, overrides in family_commands(files, args.data_dir, args.imdb_limit):
        if args.only and family not in args.only:
            continue
        variants = {"before": OLD_TRAINER + (["model=lstm"] if family == "ucr" else []), "after": []}
        for variant, extra in ((v, variants[v]) for v in args.variants):
            m = run_cli(overrides + extra, args.out / "runs" / f"{family}-{variant}")
            print(family_row(family, what, variant, m), flush=True)
    print("\nruns one at a time, seed 0; wall: the whole CLI command; baseline: repeat-last (forecasting) or the "
          "majority class; regression MSE on the z-scored scale")


def series_table(args) -> None:
    wheel = args.statsmodels_wheel or statsmodels_wheel(args.out / "wheel")
    series = prepare(wheel, args.data_dir, args.out / "series")
    print("| series | character | run | test MSE | repeat-last MSE | ratio | verdict | wall |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (path, what) in series.items():
        if args.only and name not in args.only:
            continue
        for variant, extra in VARIANTS.items():
            m = run_cli(["dataset=csv", f"dataset.path={path}", *extra], args.out / "runs" / f"{name}-{variant}")
            print(row(name, what, variant, m), flush=True)
    print("\nruns one at a time; wall: the whole CLI command; MSE on the z-scored scale (training-split statistics),"
          " test split: the last 15% of rows")


if __name__ == "__main__":
    main()
