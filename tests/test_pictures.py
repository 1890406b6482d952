"""Prediction pictures and the extra test metrics: values on known arrays, images and scalars after a run."""

import numpy as np
import pytest

from seqlab import plots
from seqlab.evaluation import classification_report, regression_original_units, roc_auc


def test_classification_report_values():
    y = np.array([0, 0, 1, 1, 1])
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    r = classification_report(y, probs, ["neg", "pos"])
    assert r["confusion_matrix"] == [[1, 1], [1, 2]]
    assert r["per_class"]["pos"]["precision"] == pytest.approx(2 / 3)
    assert r["per_class"]["pos"]["recall"] == pytest.approx(2 / 3)
    assert r["per_class"]["neg"]["f1"] == pytest.approx(0.5)
    assert r["roc_auc"] == pytest.approx(5 / 6)  # 5 of the 6 (pos, neg) pairs ranked right
    assert roc_auc(np.array([0, 1, 1]), np.array([0.5, 0.5, 0.9])) == pytest.approx(0.75)  # a tie counts half


def test_regression_original_units_scale_by_std():
    y, p = np.zeros((4, 2, 2)), np.ones((4, 2, 2))
    r = regression_original_units(y, p, np.array([2.0, 10.0]))
    assert r["mse_per_target"] == [4.0, 100.0] and r["mae"] == pytest.approx(6.0)


def test_forecast_and_confusion_pngs_have_the_right_shape():
    fig = plots.forecast_figure(np.zeros((24, 2)), np.ones((4, 2)), ["a", "b"], truth=np.ones((4, 2)))
    img = plots.png_to_image(plots.to_png(fig))
    assert img.ndim == 3 and img.shape[2] == 4 and img.shape[0] > 100
    img = plots.png_to_image(plots.to_png(plots.confusion_figure(np.eye(3) * 5, ["x", "y", "z"])))
    assert img.shape[0] > 100 and img[..., :3].std() > 0


def _tags(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"images": 0, "tensors": 0})
    acc.Reload()
    return acc


@pytest.mark.slow
def test_forecast_images_every_n_epochs_and_pngs(tmp_path):
    from test_predict import QUIET

    from seqlab import data
    from seqlab.config import compose
    from seqlab.inference.artifacts import inference_info
    from seqlab.train import run
    from seqlab.train.pictures import PredictionImages

    cfg = compose(["dataset=sine", "dataset.length=600", "dataset.input_len=16", "dataset.horizon=4",
                   "model=gru", "model.units=4"] + QUIET + ["trainer.epochs=2"])
    splits, spec = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)
    cb = PredictionImages(tmp_path, splits, spec, inference_info(cfg, splits, spec), image_freq=1, windows=2)
    run(cfg, tmp_path, extra_callbacks=[cb])
    for i in range(2):
        assert plots.png_to_image((tmp_path / f"forecast_{i}.png").read_bytes()).shape[0] > 100
    acc = _tags(tmp_path / "tb" / "predictions")
    tags = [t for t in acc.Tags()["tensors"] if t.startswith("forecast/")]
    assert len(tags) == 2
    assert sorted(e.step for e in acc.Tensors(tags[0])) == [1, 2, 2]  # per epoch, then the final image


@pytest.mark.slow
def test_classification_pictures_and_wrong_texts(tmp_path):
    from test_predict import QUIET, train_run

    from seqlab import data
    from seqlab.config import compose
    from seqlab.evaluation import extra_test_metrics
    from seqlab.inference.artifacts import inference_info
    from seqlab.train.pictures import PredictionImages

    over = ["dataset=text_synth", "dataset.train_size=128", "dataset.val_size=32", "dataset.test_size=64",
            "model=lstm", "model.units=4"]
    cfg = compose(over + QUIET)
    splits, spec = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)
    meta = inference_info(cfg, splits, spec)
    cb = PredictionImages(tmp_path / "run", splits, spec, meta, wrong_texts=5)
    result, _, _ = train_run(tmp_path / "run", over, extra_callbacks=[cb])
    extra = extra_test_metrics(result.model, splits, spec, meta)["classification"]
    assert sum(map(sum, extra["confusion_matrix"])) == 64 and 0 <= extra["roc_auc"] <= 1
    assert set(extra["per_class"]) == {"negative", "positive"}
    assert plots.png_to_image((tmp_path / "run" / "confusion_matrix.png").read_bytes()).shape[0] > 100
    tags = _tags(tmp_path / "run" / "tb" / "predictions").Tags()["tensors"]
    assert {"test/confusion_matrix", "test/f1/positive", "test/roc_auc"} <= set(tags)
    assert "test/most_confidently_wrong" in tags or extra["per_class"]["positive"]["recall"] == 1.0
