"""`seqlab backtest RUN_DIR`: rolling-origin evaluation of a forecasting run over its test rows, with the run's
model or retrained every K windows; resumable (progress.json records every finished window and retraining)."""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..config import ConfigError, config_error
from .plan import DEFAULT_WINDOWS, Plan, make_plan, parse_refit
from .series import tightest

log = logging.getLogger(__name__)
PROGRESS = "progress.json"
FORMAT = 3  # of progress.json's windows (3: with interval bounds); those of another format are scored again


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqlab backtest", description=(
        "Rolling-origin backtest of a forecasting run over its test rows: N forecast origins S rows apart, the "
        "last forecast ending at the last test row. Scores per window and overall (MSE, MAE, sMAPE, MASE in "
        "original units) beside repeat-last-value and seasonal naive; backtest.csv, forecasts.csv, backtest.md, "
        "backtest.png. A killed backtest continues where it stopped when run again."))
    p.add_argument("run_dir", type=Path, help="a forecasting run directory (model.keras, inference.json, .hydra/)")
    p.add_argument("--windows", type=int, help=f"forecast origins (default {DEFAULT_WINDOWS}, or as many as fit)")
    p.add_argument("--step", type=int, help="rows between origins (default: the run's horizon)")
    p.add_argument("--refit", default="never", help="never: the run's model for every window; K: retrain the run's "
                   "config on the rows up to the origin of every K-th window (a process and run directory each)")
    p.add_argument("--out", type=Path, help="output folder (default RUN_DIR/backtest)")
    p.add_argument("--overwrite", action="store_true", help="start over in a folder holding another backtest")
    return p


def _run_config(run_dir: Path):
    from omegaconf import OmegaConf

    from ..inference.artifacts import read_inference

    meta = read_inference(run_dir)
    if meta.get("kind") not in ("series", "panel"):
        raise config_error("RUN_DIR", "a forecasting run (dataset sine, csv, etth1, panel, ...)",
                           f"{run_dir} is a {meta.get('kind')} run ({meta.get('task')})")
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        raise config_error("RUN_DIR", "a run directory with .hydra/config.yaml (the config it was trained with)",
                           f"{run_dir} has none")
    return OmegaConf.load(path), meta


def _data(cfg, run_dir: Path, meta: Dict):
    """The run's rows as read (original units), through its own data loader, in the folder the run was started in
    (a relative dataset.path is relative to it)."""
    import os

    from .. import data
    from .refit import run_cwd
    from .series import rows_of

    here = os.getcwd()
    os.chdir(run_cwd(run_dir))
    try:
        splits, _ = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)
    finally:
        os.chdir(here)
    return rows_of(splits, cfg, meta)


def _progress(out: Path, plan: Plan, run_dir: Path, overwrite: bool) -> Dict:
    """The recorded progress of this backtest in `out` (a new one when there is none, or with --overwrite)."""
    import json

    path = out / PROGRESS
    fresh = {"format": FORMAT, "run_dir": str(run_dir), "options": plan.options(), "windows": {}, "refits": {}}
    if not path.is_file():
        return fresh
    state = json.loads(path.read_text())
    if state.get("options") == plan.options() and state.get("run_dir") == str(run_dir):
        if state.get("format") != FORMAT:  # finished retrainings are kept, windows scored again
            return {**fresh, "refits": state.get("refits", {})}
        return state
    if not overwrite:
        then = state.get("options", {})
        key = next((k for k in plan.options() if then.get(k) != plan.options()[k]), "RUN_DIR")
        raise config_error(f"--{key}" if key != "RUN_DIR" else key,
                           f"the options of the backtest in {out} ({then}, run {state.get('run_dir')}) to continue "
                           "it, --overwrite to start over, or another --out", plan.options())
    for name in state.get("refits", {}).values():
        shutil.rmtree(out / name, ignore_errors=True)
    return fresh


class Backtest:
    """The windows of `plan` over every series of `rows`, each scored and recorded in `out/progress.json` as soon
    as it is done; models are loaded (or retrained) once, when their first window needs them."""

    def __init__(self, run_dir: Path, out: Path, plan: Plan, rows, meta: Dict, state: Dict):
        from ..scores import infer_season
        from .scoring import scales

        self.run_dir, self.out, self.plan, self.rows, self.state = run_dir, out, plan, rows, state
        # the run's dataset.season (inferred from the time step by its loader; older runs: inferred here)
        self.season = int(rows.season or infer_season(_timedelta(meta.get("time_step"))))
        # per series: its origins (as far from its end as the plan's); MASE denominators from its rows before the
        # test rows, as the run's own test.mase
        end = plan.test_rows[1]
        self.origins = [np.asarray(plan.origins) + r["test"][1] - end for r in rows.ranges]
        self.scales = [scales(y[:r["test"][0]], self.season) for y, r in zip(rows.y, rows.ranges)]
        self._models: Dict[Optional[int], object] = {}

    def model(self, refit_at: Optional[int]):
        """The predictor of the run, or of the retraining at window `refit_at`, retrained first unless
        progress.json records it done."""
        if refit_at not in self._models:
            from ..inference import load
            from . import refit

            where = self.run_dir
            if refit_at is not None:
                name = f"refit-{refit_at:03d}"
                where = self.out / name
                if str(refit_at) not in self.state["refits"] or not refit.finished(where):
                    split = self.rows.refit_overrides(self.plan.cutoff_back(refit_at), self.plan.val_len)
                    refit.retrain(self.run_dir, where, split, self.out / f"{name}.log")
                    self.state["refits"][str(refit_at)] = name
                    self.save()
            self._models[refit_at] = load(where)
        return self._models[refit_at]

    def window(self, i: int) -> Dict:
        """Forecast and score window `i` of every series."""
        from .scoring import interval_row, window_row

        refit_at = self.plan.refit_window(i)
        H = self.plan.horizon
        origins = [int(o[i]) for o in self.origins]
        found = self.rows.forecast(self.model(refit_at), origins)  # each (series, horizon, targets)
        forecast = found.pop("forecast")  # a quantile model's median; `found` keeps lo-80, hi-80, ... if any
        truth = np.stack([y[o + 1:o + 1 + H] for y, o in zip(self.rows.y, origins)])
        rows = [{"id": sid, "window": i, "origin": o, "cutoff": o + 1,
                 "model": "run" if refit_at is None else f"refit-{refit_at:03d}",
                 **window_row(y[:o + 1], t, f, self.season, sc),
                 **interval_row(t, {k: v[s] for k, v in found.items()}, sc)}
                for s, (sid, o, y, t, f, sc) in enumerate(zip(self.rows.ids, origins, self.rows.y, truth, forecast,
                                                               self.scales))]
        return {"rows": rows, "forecast": forecast.tolist(), "truth": truth.tolist(),
                "bands": {k: v.tolist() for k, v in found.items()}}

    def run(self, on_window=None) -> List[Dict]:
        for i in range(len(self.plan.origins)):
            if str(i) not in self.state["windows"]:
                self.state["windows"][str(i)] = self.window(i)
                self.save()
                if on_window:
                    on_window(i)
        return [self.state["windows"][str(i)] for i in range(len(self.plan.origins))]

    def save(self) -> None:
        from ..train.outputs import write_json

        write_json(self.out / PROGRESS, self.state)


def _timedelta(step):
    import pandas as pd

    return pd.Timedelta(step) if step else None


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `seqlab backtest`; returns the exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("seqlab.backtest").setLevel(logging.INFO)  # each retraining's command as it starts
    from .. import rundir
    from ..inference.outputs import write_error
    from .refit import RefitFailed

    t0 = time.perf_counter()
    try:
        refit_k = parse_refit(args.refit)
        run_dir = args.run_dir.resolve()
        cfg, meta = _run_config(run_dir)
        series = _data(cfg, run_dir, meta)
        L, H = int(meta["input_len"]), int(meta["horizon"])
        plan = make_plan(series.ranges[tightest(series.ranges, L, H)], L, H, args.windows, args.step, refit_k)
        out = (args.out or run_dir / "backtest").resolve()
        if out.exists() and not out.is_dir():
            raise config_error("--out", "a folder", f"{out} (a file)")
        out.mkdir(parents=True, exist_ok=True)
        rundir.lock(out, shlex.join(["seqlab", "backtest", *(argv if argv is not None else sys.argv[2:])]))
        state = _progress(out, plan, run_dir, args.overwrite)
        done = len(state["windows"])
        bt = Backtest(run_dir, out, plan, series, meta, state)
        windows = bt.run()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except rundir.RunDirBusy as e:
        print(f"error: {e}".replace("hydra.run.dir", "--out"), file=sys.stderr)
        return 1
    except OSError as e:
        print(write_error(e, args.out or args.run_dir), file=sys.stderr)
        return 1
    except RefitFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; the same command continues at the next unfinished window", file=sys.stderr)
        return 130
    from . import report
    from .scoring import aggregate

    rows = [r for w in windows for r in w["rows"]]
    summary = aggregate(rows)
    header = {"run_dir": str(run_dir), "windows": len(rows), "step": plan.step, "refit": args.refit,
              "origins": f"rows {plan.origins[0]} .. {plan.origins[-1]} (test rows {plan.test_rows})"
              if len(series.ids) == 1 else f"{len(series.ids)} series, each from {plan.test_rows[1] - plan.origins[0]} "
              f"to {plan.test_rows[1] - plan.origins[-1]} rows before its end",
              "horizon": plan.horizon, "season": bt.season,
              "retrainings": ", ".join(state["refits"].values()) or "none"}
    paths = report.write_all(out, rows, windows, list(meta["targets"]), summary, header, plan.refit_windows())
    m, r = summary["model"], summary["repeat"]
    print(f"backtest of {run_dir}: {len(rows)} windows ({len(rows) - done} now, {done} recorded before), "
          f"refit {args.refit}, {time.perf_counter() - t0:.1f} s\n"
          f"  model mse {m['mse']:.4g} mae {m['mae']:.4g}   repeat last value mse {r['mse']:.4g} mae {r['mae']:.4g}"
          f"   (original units)\n  -> {paths['backtest.md']}, {paths['backtest.csv']}, {paths['backtest.png']}")
    return 0
