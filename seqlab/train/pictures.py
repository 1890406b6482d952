"""What a model predicts, as pictures: forecast-vs-actual of fixed test windows (TensorBoard every N epochs, PNGs at
the end), and for classifiers the confusion matrix, per-class scores and the most confidently wrong test texts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import keras
import numpy as np

from .. import plots
from ..data.intervals import bands
from ..evaluation import class_probabilities, classification_report, predict_split
from ..inference.artifacts import vocabulary

LOGDIR = "predictions"  # run_dir/tb/predictions


class PredictionImages(keras.callbacks.Callback):
    """TensorBoard images (run_dir/tb/predictions) and PNG files (run_dir) of the model's test predictions.

    `artifacts` is `inference.artifacts.inference_info(cfg, splits, spec)`. Forecasting runs: `windows` fixed test
    windows, drawn every `image_freq` epochs (0: only at the end) and written as forecast_<i>.png by `on_run_end`.
    Classification runs, at `on_run_end`: confusion_matrix.png, per-class precision/recall/F1 (and ROC AUC for two
    classes) as scalars, and the `wrong_texts` most confidently wrong test texts as a text table.
    """

    def __init__(self, run_dir: Path, splits, spec, artifacts: Dict[str, Any], image_freq: int = 5,
                 windows: int = 3, wrong_texts: int = 10, batch_size: int = 256):
        super().__init__()
        self.run_dir, self.splits, self.spec, self.meta = Path(run_dir), splits, spec, artifacts
        self.image_freq, self.wrong_texts, self.batch_size = image_freq, wrong_texts, batch_size
        n = len(splits.test)
        self.windows = np.unique(np.linspace(0, n - 1, min(windows, n)).astype(np.int64)) if n else np.zeros(0, int)
        self.vocab = vocabulary(splits) if artifacts.get("kind") == "text" else None
        self._writer = None
        self._epoch = 0

    def writer(self):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.run_dir / "tb" / LOGDIR))
        return self._writer

    # --- forecasting -------------------------------------------------------------------------------------------
    def forecast_figures(self) -> List:
        """One figure per fixed test window, in original units: history, truth and forecast per target."""
        x, y = self.splits.test.arrays(self.windows)  # (w, L, features), (w, H, targets)
        # a quantile model's median and, once calibrated (trainer.intervals), the conformal bands: model units
        fitted = (self.splits.artifacts or {}).get("transforms", {}).get("intervals")
        found = bands(np.asarray(self.model.predict(x, verbose=0)), self.meta.get("quantiles"), fitted, np.asarray)
        pred = found.pop("forecast").reshape(y.shape)
        levels = [k[3:] for k in found if k.startswith("lo-")]
        x = x["series"] if isinstance(x, dict) else x  # the past window of a model with inputs known ahead
        features, targets = self.meta["features"], self.meta["targets"]
        norm = self.meta.get("normalization")

        def raw(values, cols):  # z-scores -> original units
            if not norm:
                return values
            return values * np.array([norm["std"][c] for c in cols]) + np.array([norm["mean"][c] for c in cols])

        known = [features.index(t) for t in targets] if set(targets) <= set(features) else None
        figs = []
        for i, w in enumerate(self.windows):
            history = raw(x[i][:, known], targets) if known is not None else np.full((1, len(targets)), np.nan)
            shaded = {v: (raw(found[f"lo-{v}"][i], targets), raw(found[f"hi-{v}"][i], targets)) for v in levels}
            figs.append(plots.forecast_figure(history, raw(pred[i], targets), targets, truth=raw(y[i], targets),
                                              title=f"test window {int(w)} (epoch {self._epoch})", bands=shaded))
        return figs

    def _forecast_images(self, step: int, files: bool) -> None:
        import tensorflow as tf

        pngs = [plots.to_png(fig) for fig in self.forecast_figures()]
        with self.writer().as_default():
            for w, png in zip(self.windows, pngs):
                tf.summary.image(f"forecast/test_window_{int(w)}", plots.png_to_image(png)[None], step=step)
        if files:
            for i, png in enumerate(pngs):
                from .outputs import atomic_write

                atomic_write(self.run_dir / f"forecast_{i}.png", lambda tmp, b=png: Path(tmp).write_bytes(b))

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch + 1
        if self.meta.get("kind") == "series" and self.image_freq and self._epoch % self.image_freq == 0:
            self._forecast_images(self._epoch, files=False)

    # --- classification ----------------------------------------------------------------------------------------
    def _text_of(self, row: np.ndarray) -> str:
        ids = row[row != 0]
        if self.vocab is None:
            return " ".join(map(str, ids))
        return " ".join(self.vocab[i] if i < len(self.vocab) else "[UNK]" for i in ids)

    def wrong_table(self, probs: np.ndarray, y: np.ndarray, x: np.ndarray) -> Optional[str]:
        """Markdown table of the most confidently wrong test examples: confidence, predicted, true, text."""
        wrong = np.flatnonzero(probs.argmax(axis=1) != y)
        if not len(wrong):
            return None
        worst = wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")][: self.wrong_texts]
        names = [str(c) for c in self.meta["class_names"]]
        rows = ["| confidence | predicted | true | text |", "|---|---|---|---|"]
        for i in worst:
            text = self._text_of(x[i])[:400].replace("|", "\\|")
            rows.append(f"| {probs[i].max():.3f} | {names[probs[i].argmax()]} | {names[y[i]]} | {text} |")
        return "\n".join(rows)

    def _classification(self, metrics: Dict[str, Any], step: int) -> None:
        import tensorflow as tf

        x, y = self.splits.test.arrays()
        y = np.asarray(y).astype(np.int64).ravel()
        probs = class_probabilities(predict_split(self.model, self.splits.test, self.batch_size))
        report = metrics.get("classification") or classification_report(y, probs, self.meta["class_names"])
        png = plots.to_png(plots.confusion_figure(np.array(report["confusion_matrix"]), report["class_names"]))
        from .outputs import atomic_write

        atomic_write(self.run_dir / "confusion_matrix.png", lambda tmp: Path(tmp).write_bytes(png))
        with self.writer().as_default():
            tf.summary.image("test/confusion_matrix", plots.png_to_image(png)[None], step=step)
            for name, scores in report["per_class"].items():
                for key in ("precision", "recall", "f1"):
                    tf.summary.scalar(f"test/{key}/{name}", scores[key], step=step)
            if report.get("roc_auc") is not None:
                tf.summary.scalar("test/roc_auc", report["roc_auc"], step=step)
            table = self.wrong_table(probs, y, x) if self.meta.get("kind") == "text" and self.wrong_texts else None
            if table:
                tf.summary.text("test/most_confidently_wrong", table, step=step)

    def on_run_end(self, metrics: Dict[str, Any]) -> None:
        """After the test evaluation (seqlab.train.callbacks.on_run_end): the final pictures and files."""
        if metrics.get("status", "completed") != "completed" or not len(self.splits.test):
            return
        step = self._epoch or int(metrics.get("epochs") or 0)
        if self.meta.get("kind") == "series":
            self._forecast_images(step, files=True)
        elif self.spec.task != "regression":
            self._classification(metrics, step)
        self.writer().flush()
