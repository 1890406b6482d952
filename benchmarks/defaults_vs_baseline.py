"""The default model against the repeat-last baseline on real series of different character, before and after
model.norm=auto.

Fetches the statsmodels wheel (its bundled datasets; nothing is installed) unless --statsmodels-wheel names one,
writes each series as a one-column CSV, and runs the CLI one run at a time exactly as a user would:
`python -m seqlab dataset=csv dataset.path=<file>` (plus hydra.run.dir, which only says where the run lands).
"before" adds `model.norm=none`, the default until model.norm=auto. Prints the markdown table of
docs/results-history.md.

    python benchmarks/defaults_vs_baseline.py --out /tmp/defaults [--data-dir ../shared/datasets]
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/defaults_vs_baseline"))
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    ap.add_argument("--statsmodels-wheel", type=Path, help="a downloaded statsmodels wheel (default: pip download)")
    ap.add_argument("--only", nargs="*", help="series names (default: all)")
    args = ap.parse_args()
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
