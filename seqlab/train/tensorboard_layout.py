"""The Custom Scalars layout of a run's TensorBoard: train and validation overlaid per metric, optimization, speed."""

from __future__ import annotations

from typing import List

from tensorboard.plugins.custom_scalar import layout_pb2


def _chart(title: str, *regexes: str) -> layout_pb2.Chart:
    return layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(tag=list(regexes)))


def scalars_layout(metric_names: List[str], step_charts: bool) -> layout_pb2.Layout:
    """Custom Scalars: one chart per metric with train and validation overlaid, and the optimisation group.

    Category titles fix their charts (TensorBoard merges layouts of all runs by category title)."""
    names = sorted(metric_names, key=lambda n: (n != "loss", n))
    cats = [layout_pb2.Category(title=f"Train vs validation: {', '.join(names)}",
                                chart=[_chart(n, f"^epoch_{n}$") for n in names]),
            layout_pb2.Category(title="Optimization", chart=[
                _chart("learning rate", r"^optim/learning_rate$"), _chart("global gradient norm", r"^optim/grad_norm$"),
                _chart("update / weight ratio", r"^optim/update_ratio$"),
                _chart("update / weight ratio per layer", r"^update_ratio/"),
                _chart("weight norm per layer", r"^weight_norm/")]),
            layout_pb2.Category(title="Speed", chart=[_chart("samples per second", r"^speed/samples_per_second$"),
                                                      _chart("epoch seconds", r"^speed/epoch_seconds$")])]
    if step_charts:
        cats.append(layout_pb2.Category(title="Every N steps", chart=[
            _chart("loss (steps)", r"^step/loss$"), _chart("global gradient norm (steps)", r"^step/grad_norm$"),
            _chart("update / weight ratio (steps)", r"^step/update_ratio$")]))
    return layout_pb2.Layout(category=cats)
