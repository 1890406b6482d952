"""What a run prints at its end: test metrics beside the baseline, the diagnosis, the run directory; or why it
diverged."""

from __future__ import annotations


def summary(result) -> str:
    """The final console summary: test metrics beside the naive baseline, and the run directory."""
    m = result.metrics
    lines = [f"\n{m['model']} on {m['dataset']} ({m['task']}, {m['params']:,} params, {m['epochs']} epochs, "
             f"best epoch {m['best_epoch']}, {m['train_seconds']:.1f} s, {m['samples_per_second']} samples/s)",
             f"  {'metric':<10} {'test':>10} {'baseline':>10}   baseline = {m['baseline_name']}"]
    for k, v in m["test"].items():
        b = m["baseline"].get(k)
        lines.append(f"  {k:<10} {v:>10.4f} {'' if b is None else f'{b:>10.4f}'}")
    original = m.get("test_original_units")
    if original:
        lines.append(f"  in original units: mse {original['mse']:.5g}, mae {original['mae']:.5g}")
    report = m.get("classification")
    if report:
        extra = [f"macro F1 {report['macro_f1']:.4f}"] if "macro_f1" in report else []
        extra += [f"ROC AUC {report['roc_auc']:.4f}"] if report.get("roc_auc") is not None else []
        lines.append("  " + ", ".join(extra) + " (per class: metrics.json, classification)")
    data = m.get("data") or {}
    if data.get("features"):
        lines.append(f"  features: {', '.join(data['features'])}; targets: {', '.join(data.get('targets', []))}"
                     + (f"; not used: {', '.join(data['unused_columns'])}" if data.get("unused_columns") else ""))
    if "diagnosis" in m:
        d = m["diagnosis"]
        lines.append(f"  diagnosis: {d.get('verdict')} - {d.get('advice', '')}")
        if d.get("message"):  # a run that loses to its baseline: by how much, and why
            lines.append(f"    {d['message']}")
    lines.append(f"  run directory: {result.run_dir}")
    return "\n".join(lines)


def diverged_text(e) -> str:
    """What to print when training diverged: where, the diagnosis and what to try."""
    where, d = e.metrics.get("diverged", {}), e.diagnosis
    at = f"batch {where['batch']}" if where.get("batch") else "the end (validation)"
    return "\n".join([f"error: training diverged in epoch {where.get('epoch')} at {at}, step {where.get('step')}: "
                      f"{where.get('metric', 'loss')} {where.get('loss')}",
                      f"  diagnosis: {d.get('verdict')} - {d.get('message', '')}",
                      f"  advice: {d.get('advice', '')}",
                      f"  run directory: {e.run_dir} (metrics.json has status: diverged)"])
