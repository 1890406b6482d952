"""The one writer of a run's outcome (completed, diverged, interrupted, failed): metrics.json, history.csv, model.

`ON_COMPLETED` is the hook point for what a completed run writes besides (predictions, exports, pictures): each
hook is called as `hook(run_dir, cfg, prepared, metrics)` before metrics.json is written, and the dict it returns
(if any) is merged into metrics.json.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from omegaconf import DictConfig

from .intervals import intervals_hook
from .outputs import atomic_write, save_model, write_history_csv, write_json
from .shards import shard_count

log = logging.getLogger(__name__)
STATUSES = ("completed", "diverged", "interrupted", "failed")



def inference_files(run_dir: Path, cfg: DictConfig, prepared, metrics: Dict[str, Any]) -> Dict[str, Any]:
    """What makes the run directory a self-contained model (inference.json, vocabulary.txt, examples.npz), and
    the test metrics beyond Keras' (per-class scores, ROC AUC; regression errors in original units; forecasting:
    test.smape / test.mase, averaged over series, with each series' in series_scores.csv)."""
    from ..evaluation import extra_test_metrics
    from ..inference.artifacts import inference_info, write_artifacts

    splits, spec, model = prepared
    write_artifacts(run_dir, cfg, splits, spec)
    extra = extra_test_metrics(model, splits, spec, inference_info(cfg, splits, spec), cfg.trainer.batch_size)
    scored = extra.pop("series_scores", None)
    if scored is not None:  # test.smape / test.mase beside Keras' test metrics; per series in series_scores.csv
        table = scored.table()
        atomic_write(run_dir / "series_scores.csv", lambda tmp: table.to_csv(tmp, index=False))
        extra["test"] = {**(metrics.get("test") or {}), **scored.summary()}
        extra["scores"] = {"season": splits.scoring.season, "series": len(table),
                           "series_without_scale": int(table["mase"].isna().sum()), "per_series": "series_scores.csv"}
    return extra


def baseline_verdict(cfg: DictConfig, prepared, metrics: Dict[str, Any],
                     history: Dict[str, List[float]]) -> Optional[Dict[str, Any]]:
    """`worse-than-baseline` with its likely cause when the test metric loses to the naive baseline (verdict.judge);
    None when the model beats it."""
    from .verdict import judge, level_shift

    splits, spec, _ = prepared
    shift = None
    if spec.task == "regression":
        ranges = (splits.info or {}).get("row_ranges")
        if ranges and hasattr(splits.train, "targets"):  # windows: the target rows of each split
            (a, b), (c, d) = ranges["train"], ranges["test"]
            shift = level_shift(splits.train.targets[a:b], splits.train.targets[c:d])
        elif len(splits.train) and len(splits.test):
            shift = level_shift(splits.train.arrays()[1], splits.test.arrays()[1])
    verdict = judge({**metrics, "history": history}, dict(cfg.trainer), splits.train.steps(cfg.trainer.batch_size),
                    shift, uses_window_norm=cfg.model.get("norm", "none") != "none")  # .get: model=custom has none
    return verdict


# hook(run_dir, cfg, prepared, metrics) -> extra metrics.json fields or None; called for completed runs only, in
# order, after model.keras and history.csv are written and before metrics.json is (the intervals are calibrated
# before inference.json, which saves them, is written)
ON_COMPLETED: List[Callable[[Path, DictConfig, Any, Dict[str, Any]], Optional[Dict[str, Any]]]] = [
    intervals_hook, inference_files]


@dataclass
class Outcome:
    """What a run ended with, and whatever of the run existed by then (a failed run may have no model yet)."""

    status: str  # one of STATUSES
    cfg: DictConfig
    prepared: Optional[Any] = None  # stages.Prepared, once prepare ran
    callbacks: Optional[Any] = None  # stages.RunCallbacks, once make_callbacks ran
    test: Optional[Dict[str, float]] = None  # completed: the test metrics
    details: Dict[str, Any] = field(default_factory=dict)  # diverged: where, diagnosis; interrupted: signal, ...
    write: bool = True  # False: a multi-worker run's worker other than the chief (same metrics, no files)


def failure(error: BaseException, stage: str) -> Dict[str, Any]:
    """metrics.json's `error` of a failed run: the exception's type and message and the stage it came from."""
    return {"error": {"type": type(error).__name__, "message": str(error)[:2000], "stage": stage}}


def describe(cfg: DictConfig, prepared, timer, history: Dict[str, List[float]]) -> Dict[str, Any]:
    """The metrics.json fields every run that got as far as training has, whatever its status."""
    splits, spec, model = prepared
    from .callbacks import monitored

    watched = history.get(monitored(splits), [])  # val_loss; the training loss without a validation split
    n_train = len(splits.train)
    return {
        "task": spec.task,
        "dataset": spec.name,
        "model": cfg.model.name,
        "norm": cfg.model.get("norm"),  # model.norm as run (auto resolved: models.resolve_norm); .get: model=custom
        "trainer": cfg.trainer.name,
        "params": int(model.count_params()),
        "jit_compile": bool(model.jit_compile) or shard_count(model) > 1,  # whether the steps ran through XLA
        "cpu_shards": shard_count(model),  # row groups per step, one XLA program per core (trainer.cpu_shards)
        "epochs": len(history.get("loss", [])),
        "best_epoch": int(min(range(len(watched)), key=watched.__getitem__)) + 1 if watched else None,
        "final": {k: v[-1] for k, v in history.items() if v},
        "train_seconds": round(timer.seconds, 3),
        "samples_per_second": round(n_train * timer.epochs_run / timer.seconds, 1) if timer.seconds else None,
        "examples": {"train": n_train, "val": len(splits.val), "test": len(splits.test)},
        "data": splits.info,
        "seed": cfg.seed,
    }


def write_outcome(run_dir: Path, outcome: Outcome) -> Dict[str, Any]:
    """Write the outcome's files and return metrics.json's content; every way a run ends comes through here
    (`outcome.write` False: return the metrics and write nothing)."""
    from .callbacks import on_run_end, stop_reasons
    from .curves import ADVICE, diagnose_curves
    from .verdict import beats_baseline, combine

    if outcome.status not in STATUSES:
        raise ValueError(f"outcome status: expected one of {STATUSES}, got {outcome.status!r}")
    run_dir, cfg, prepared, cbs = Path(run_dir), outcome.cfg, outcome.prepared, outcome.callbacks
    history = cbs.history.history if cbs is not None else {}
    metrics: Dict[str, Any] = {"status": outcome.status}
    if outcome.status == "completed":
        metrics.update(test=outcome.test, baseline=prepared.splits.baseline(),
                       baseline_name=prepared.splits.baseline_name)
    metrics.update(outcome.details)
    if cbs is not None:
        metrics.update(stop_reasons(cbs.all))  # e.g. `pruned` by a sweep's pruner
    if prepared is not None and cbs is not None:
        metrics.update(describe(cfg, prepared, cbs.timer, history))
        if prepared.placement.kind != "none":
            metrics["distribute"] = prepared.placement.describe()
    if not outcome.write:
        return metrics
    if prepared is not None and cbs is not None:
        write_history_csv(run_dir / "history.csv", history)
    if outcome.status == "completed":
        metrics["diagnosis"] = diagnose_curves(
            history.get("loss", []), history.get("val_loss"), signals=history,  # grad_norm, update_ratio
            steps_per_epoch=prepared.splits.train.steps(cfg.trainer.batch_size),
            beats_baseline=beats_baseline(metrics), lr=float(cfg.trainer.lr),
            stopped_early=bool(cfg.trainer.patience) and len(history.get("loss", [])) < int(cfg.trainer.epochs))
        from ..registry import entry

        if entry(cfg, "trainer").has("exact_solve"):  # one exact solve (trainer=lstsq): no curve
            metrics["diagnosis"] = {"verdict": "solved", "advice": ADVICE["solved"], "evidence": {"epochs": 1}}
        verdict = baseline_verdict(cfg, prepared, metrics, history)
        if verdict is not None:  # the curves' verdict stays as evidence
            metrics["curve_diagnosis"], metrics["diagnosis"] = metrics["diagnosis"], combine(metrics["diagnosis"],
                                                                                             verdict)
            log.warning("%s: %s", metrics["diagnosis"]["verdict"], metrics["diagnosis"]["message"])
        save_model(run_dir / "model.keras", prepared.model)
        for hook in ON_COMPLETED:
            metrics.update(hook(run_dir, cfg, prepared, metrics) or {})
    if cbs is not None and outcome.status in ("completed", "diverged"):
        on_run_end(cbs.all, metrics)  # final test metrics and status to TensorBoard HParams
    write_json(run_dir / "metrics.json", metrics)
    return metrics
