"""`seqlab predict RUN_DIR INPUT`: predictions of a run's model on new raw data, written as CSV (and a plot)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import pandas as pd

from ..config import ConfigError, config_error

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqlab predict", description=(
        "Predict with a trained run on new raw data. Series: a CSV like the training file (forecast after its "
        "end; --rolling: after every window). Text: a CSV with the text column, or one text per line. UCR: a "
        "tab-separated file, label first (--unlabelled: values only). Metrics are written when the input holds "
        "the targets or labels."))
    p.add_argument("run_dir", type=Path, help="a run directory (model.keras, inference.json)")
    p.add_argument("input", type=Path, help="the new data")
    p.add_argument("--output", help="predictions CSV (default: <input name>.predictions.csv here: "
                   "sales.2024.csv -> sales.2024.predictions.csv)")
    p.add_argument("--plot", help="PNG: forecast with history (series), confusion matrix (labels)")
    p.add_argument("--rolling", action="store_true", help="series: forecast after every window, not only the end")
    p.add_argument("--stride", type=int, help="series with --rolling: rows between window ends (default 1)")
    p.add_argument("--ignore-extra", action="store_true", help="series: drop columns the run does not know")
    p.add_argument("--future", type=Path, help="series, runs with dataset.future_columns: a CSV of the `horizon` "
                   "rows after the input (time column and future columns; neuralforecast's futr_df), appended to "
                   "it; default: those rows at the end of INPUT itself")
    p.add_argument("--format", choices=("long", "wide"), default="long", help="series: long (default; "
                   "neuralforecast's convention, as panel runs write: id, timestamp, step, forecast, lo-80, hi-80, "
                   "...; a row per target and step) or wide (a row per step: time, then a column per target with "
                   "<target>_lo-80 ... beside it)")
    p.add_argument("--unlabelled", action="store_true", help="ucr: rows hold only values, no label first")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output (never the input or a run's "
                   "own files)")
    return p


def read_texts(path: Path, meta: dict) -> Tuple[List[str], Optional[list]]:
    """(texts, labels or None). A table whose header names the run's text column, read in the training file's
    dialect (separator; quoted fields may span lines), as training read it; else one text per line (UTF-8,
    blank lines skipped). A .csv/.tsv without the text column is refused."""
    from ..data.tabular import _raw_bytes, decode, read_table

    column, label = meta["text_column"], meta["label_column"]
    if path.suffix.lower() != ".gz" and not path.read_bytes().strip():
        raise config_error("INPUT", "at least one text", f"{path} is empty")
    trained_sep = (meta.get("dialect") or {}).get("sep")
    seps = [trained_sep] if trained_sep else [",", "\t", ";", "|"]
    header = decode(_raw_bytes(path, "INPUT")[:65536], path, "auto", "INPUT")[0].split("\n", 1)[0].rstrip("\r")
    sep = next((s for s in seps if column in [f.strip().strip('"') for f in header.split(s)]), None)
    tabular = path.suffix.lower() in (".csv", ".tsv", ".gz")
    if sep is None and tabular:
        raise config_error("INPUT", f"a table with the run's text column {column!r} (separator "
                           f"{' or '.join(map(repr, seps))})", f"header {header[:200]!r}")
    if sep is not None:
        frame = read_table(path, "INPUT", sep=sep, as_text=True, prefix="INPUT").frame
        labels = frame[label].tolist() if label in frame.columns else None
        return frame[column].tolist(), labels
    try:
        lines = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")
    except UnicodeDecodeError as e:
        raise config_error("INPUT", "UTF-8 text", f"{path}: {e}") from None
    lines = lines[:-1] if lines[-1] == "" else lines
    texts = [t for t in lines if t.strip()]
    if len(texts) < len(lines):
        log.warning("%s: blank lines skipped (one text per line)", path)
    return texts, None


def read_ucr_rows(path: Path, unlabelled: bool) -> Tuple[list, Optional[list]]:
    """(series, labels or None) from a UCR-style file: one row per series, tab- or comma-separated."""
    if not unlabelled:
        from ..data.ucr import read_ucr

        return read_ucr(path, "INPUT")
    text = path.read_text(encoding="utf-8")
    sep = "\t" if "\t" in text else ","
    try:
        rows = [np.array([float(v) for v in line.split(sep)]) for line in text.splitlines() if line.strip()]
    except ValueError as e:
        raise config_error("INPUT", "numbers only (--unlabelled)", str(e)) from None
    return rows, None


def _series(pred, args) -> Tuple[pd.DataFrame, Optional[dict], int]:
    from .. import plots
    from ..data.tabular import read_table

    dialect = pred.meta.get("dialect") or {}  # the training file's separator, decimal mark, ... (else detected)

    def read(path: Path, key: str) -> pd.DataFrame:
        return read_table(path, key, sep=dialect.get("sep", "auto"), decimal=dialect.get("decimal") or "auto",
                          thousands=dialect.get("thousands"), prefix=key).frame

    frame = read(Path(args.input), "INPUT")
    if args.future is not None:  # the rows known ahead, after the history (the other columns left empty)
        if "known_ahead" not in pred.transforms:
            raise config_error("--future", "a run trained with dataset.future_columns or dataset.calendar",
                               str(args.run_dir))
        frame = pd.concat([frame, read(args.future, "--future")], ignore_index=True)
    missing = [t for t in pred.targets if t not in frame.columns and t not in pred.features]
    if args.plot and missing:
        raise config_error("--plot", "an input holding the run's targets (the plot draws their history)",
                           f"{args.input} lacks {missing}")
    out = pred.forecast(frame, rolling=args.rolling, stride=args.stride or 1, ignore_extra=args.ignore_extra)
    metrics = pred.evaluate(frame, ignore_extra=args.ignore_extra)
    if args.plot:
        x, y, times = pred.columns(frame, args.ignore_extra)
        last = out[out["origin"] == out["origin"].iloc[-1]]
        history = y[-pred.input_len:] if y is not None else x[-pred.input_len:, [pred.features.index(t)
                                                                              for t in pred.targets]]
        # the input's own timestamps, the forecast's at the run's time step after them (runs with a time column)
        axis = None if times is None else (times.iloc[-pred.input_len:], last["time"])
        levels = [c[len(pred.targets[0]) + 4:] for c in out.columns if c.startswith(f"{pred.targets[0]}_lo-")]
        shaded = {v: tuple(last[[f"{t}_{side}-{v}" for t in pred.targets]].to_numpy() for side in ("lo", "hi"))
                  for v in levels}  # the run's saved intervals
        plots.save_png(plots.forecast_figure(history, last[pred.targets].to_numpy(), pred.targets, times=axis,
                                             bands=shaded,
                                             title=f"{args.run_dir}: forecast after row {last['origin'].iloc[0]}"),
                       args.plot)
    if args.format == "long":
        from .forecast import long_format

        out = long_format(out, pred.targets, rolling=args.rolling)
    return out, metrics, len(frame)


def _panel(pred, args) -> Tuple[pd.DataFrame, Optional[dict], int]:
    """One forecast per series of the input (in the run's layout), after its end."""
    from ..data.tabular import read_table

    if args.format == "wide":
        raise config_error("--format", "long for a panel run (a row per series and step)", "wide")
    for flag in ("rolling", "plot"):
        if getattr(args, flag):
            raise config_error(f"--{flag}", "a single-series run (a panel run forecasts after each series' end)",
                               f"--{flag} with a panel run")
    dialect = pred.meta.get("dialect") or {}
    time_col = pred.meta.get("time_column")
    def read(path: Path, key: str) -> pd.DataFrame:
        return read_table(path, key, sep=dialect.get("sep", "auto"), decimal=dialect.get("decimal") or "auto",
                          thousands=dialect.get("thousands"), prefix=key,
                          time_columns=[time_col] if time_col else []).frame

    frame = read(Path(args.input), "INPUT")
    if args.future is not None:  # each series' rows known ahead (id, time, future columns), after the history
        if "known_ahead" not in pred.transforms:
            raise config_error("--future", "a run trained with dataset.future_columns or dataset.calendar",
                               str(args.run_dir))
        frame = pd.concat([frame, read(args.future, "--future")], ignore_index=True)
    return pred.forecast(frame), None, len(frame)


def _classes(pred, args, kind: str) -> Tuple[pd.DataFrame, Optional[dict], int]:
    from .. import plots
    from ..evaluation import confusion_matrix

    if kind == "text":
        inputs, labels = read_texts(args.input, pred.meta)
    else:
        inputs, labels = read_ucr_rows(args.input, args.unlabelled)
    if not len(inputs):
        raise config_error("INPUT", "at least one text" if kind == "text" else "at least one series",
                           f"{args.input} holds none")
    if args.plot and labels is None:  # the confusion matrix needs the actual labels: refused before predicting
        raise config_error("--plot", "an input holding the labels (the plot is their confusion matrix)",
                           f"{args.input} has none")
    probs = pred.predict_proba(inputs)
    out = pred.table(probs)
    if kind == "text":
        out.insert(0, "text", [t[:200] for t in inputs])
    metrics = None
    if labels is not None:
        out.insert(1 if kind == "text" else 0, "actual", labels)
        metrics = pred.metrics(probs, labels, "INPUT")
        if args.plot:
            cm = confusion_matrix(pred.label_ids(labels, "INPUT"), probs.argmax(axis=1), len(pred.class_names))
            plots.save_png(plots.confusion_figure(cm, pred.class_names), args.plot)
    return out, metrics, len(inputs)


def _check_args(args) -> Tuple[Path, Path]:
    """The output and metrics paths, every path and option checked before any prediction (ConfigError)."""
    from .outputs import check_output, default_name

    if args.stride is not None and not args.rolling:
        raise config_error("--stride", "--rolling with it (rows between the rolling windows' ends)",
                           f"--stride {args.stride} without --rolling")
    if args.stride is not None and args.stride < 1:
        raise config_error("--stride", "a whole number of rows >= 1", args.stride)
    if not args.input.is_file():
        raise config_error("INPUT", "an existing file", str(args.input))
    if args.future is not None and not args.future.is_file():
        raise config_error("--future", "an existing file", str(args.future))
    where = dict(inputs=[args.input], run_dir=args.run_dir, overwrite=args.overwrite)
    output = check_output(args.output or default_name(args.input, ".predictions.csv"), "--output", **where)
    metrics = check_output(output.with_suffix(".metrics.json"), "--output (its metrics file)", **where)
    if args.plot:  # a Path from here on
        args.plot = check_output(args.plot, "--plot", inputs=[args.input, output, metrics], run_dir=args.run_dir,
                                 overwrite=args.overwrite)
    return output, metrics


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `seqlab predict`; returns the exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        from . import load
        from .outputs import write_error

        output, metrics_path = _check_args(args)
        pred = load(args.run_dir)
        kind = pred.meta["kind"]
        t0 = time.perf_counter()
        if kind == "series":
            out, metrics, rows = _series(pred, args)
        elif kind == "panel":
            out, metrics, rows = _panel(pred, args)
        elif kind in ("text", "ucr"):
            out, metrics, rows = _classes(pred, args, kind)
        else:
            raise config_error("RUN_DIR", "a series, text or ucr run (others: seqlab.load(run_dir).predict(x))",
                               kind)
        seconds = time.perf_counter() - t0
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the plot's folder filled up or vanished meanwhile
        print(write_error(e, args.plot or args.input), file=sys.stderr)
        return 1
    from ..train.outputs import atomic_write, write_json

    lines = [f"{kind} predictions of {args.run_dir}: {len(out)} rows -> {output}"]
    try:
        atomic_write(output, lambda tmp: out.to_csv(tmp, index=False))
        if metrics:
            write_json(metrics_path, metrics)
    except OSError as e:  # e.g. the disk filled up: nothing half-written is left (atomic_write)
        print(write_error(e, output), file=sys.stderr)
        return 1
    if metrics:
        lines.append("  " + "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in metrics.items()) + f"  -> {metrics_path}")
    if args.plot and args.plot.is_file():
        lines.append(f"  plot: {args.plot}")
    lines.append(f"  {rows} input rows in {seconds:.2f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)")
    print("\n".join(lines))
    log.debug("metrics %s", json.dumps(metrics))
    return 0
