"""Using a trained run: its saved files (artifacts), predictors on raw inputs (`load`), `seqlab predict`
(predict_cli) and `seqlab export` (export)."""

from __future__ import annotations

from pathlib import Path


def load(run_dir):
    """The predictor of the run in `run_dir` (series, text, ucr or array, as inference.json says): raw inputs in,
    raw outputs out (see seqlab.inference.predictors)."""
    from .artifacts import read_inference
    from .forecast import SeriesPredictor
    from .panel import PanelPredictor
    from .predictors import Predictor, TextPredictor, UcrPredictor, load_keras_model

    run_dir = Path(run_dir)
    meta = read_inference(run_dir)
    kinds = {"series": SeriesPredictor, "text": TextPredictor, "ucr": UcrPredictor, "array": Predictor,
             "panel": PanelPredictor}
    return kinds[meta["kind"]](load_keras_model(run_dir), meta, run_dir)
