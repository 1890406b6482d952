"""Big panels in memory close to their own size: window starts held as one range per series, an epoch's order
computed a batch at a time, the series read by TensorFlow without a copy."""

from __future__ import annotations

import os

import numpy as np
import pytest

from seqlab.data import base
from seqlab.data.base import ArraySplit, Panel, WindowSplit
from seqlab.data.panel import window_starts
from seqlab.data.tensors import aligned_empty, constant
from seqlab.data.windows import WindowRanges


def test_window_ranges_stand_for_every_start():
    r = WindowRanges(first=[0, 100, 250], count=[3, 0, 4], stride=2)
    every = np.array([0, 2, 4, 250, 252, 254, 256])
    assert len(r) == 7
    np.testing.assert_array_equal(r.take(), every)
    np.testing.assert_array_equal(r.take([6, 0, 3]), every[[6, 0, 3]])
    np.testing.assert_array_equal(r.take([-1, -7]), every[[-1, -7]])
    np.testing.assert_array_equal(r.take(slice(2, 5)), every[2:5])
    np.testing.assert_array_equal(r.take(every > 100), every[every > 100])
    np.testing.assert_array_equal(r.range_of(np.array([0, 2, 3, 6])), [0, 0, 2, 2])  # the empty range holds none
    np.testing.assert_array_equal(r.head(4).take(), every[:4])
    assert len(r.head(100)) == 7
    with pytest.raises(IndexError):
        r.take([7])


def test_panel_window_starts_are_per_series_ranges_inside_each_series():
    lengths = np.array([30, 12, 40])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    L, H = 6, 3
    starts = window_starts(offsets, lengths, np.full(3, H), np.full(3, H), L, H, stride=2)
    assert all(isinstance(s, WindowRanges) for s in starts.values())
    assert [len(s.first) for s in starts.values()] == [3, 3, 3]  # one range per series, however many windows
    for split in starts.values():
        s = split.take()
        series = np.searchsorted(offsets, s, side="right") - 1
        assert np.all(s + L + H <= offsets[series + 1])  # a window never crosses into the next series
    # series 0: train targets in rows [0, 24), so starts 0, 2, ..., 14 (the last target row 14 + 6 + 3 - 1 = 22)
    np.testing.assert_array_equal(starts["train"].take()[:8], np.arange(0, 16, 2))


def _epochs(split, first, last, seed=3, batch=16):
    ys = np.concatenate([y.numpy()[:, 0] for _, y in split.dataset(batch, shuffle_seed=seed, first_epoch=first,
                                                                   epochs=last)])
    return ys.reshape(last - first, -1)


def test_an_epoch_order_computed_per_batch_is_a_fresh_permutation_that_resumes(monkeypatch):
    monkeypatch.setattr(base, "ORDER_IN_MEMORY", 10)  # 100 examples: permuted a batch at a time
    x = np.arange(100, dtype=np.float32)[:, None]
    split = ArraySplit(x, x)
    orders = _epochs(split, 0, 3)
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(100))  # every example once per epoch
    assert not np.array_equal(orders[0], np.arange(100)) and not np.array_equal(orders[0], orders[1])
    np.testing.assert_array_equal(_epochs(split, 1, 3), orders[1:])  # a resumed run sees the same epochs
    assert not np.array_equal(_epochs(split, 0, 1, seed=4)[0], orders[0])


def test_small_splits_keep_the_order_every_earlier_run_had():
    import tensorflow as tf

    x = np.arange(100, dtype=np.float32)[:, None]
    order = _epochs(ArraySplit(x, x), 2, 3)[0]
    seed = tf.constant([3, 2], tf.int64)  # (shuffle_seed, epoch)
    np.testing.assert_array_equal(order, tf.random.experimental.stateless_shuffle(tf.range(100), seed=seed))


def test_tensors_share_an_aligned_array_and_copy_any_other():
    values = aligned_empty((1000, 2))
    values[...] = 1.0
    shared = constant(values)
    values[0, 0] = -5.0
    assert float(shared[0, 0]) == -5.0  # the same memory
    assert constant(values) is shared  # one tensor while it lives
    other = values[1:]  # 8 bytes past an aligned start: TensorFlow needs a copy
    copied = constant(other)
    other[0, 0] = 7.0
    assert float(copied[0, 0]) == 1.0


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_training_batches_hold_no_copy_of_the_series_and_no_per_window_memory():
    rows = 2**24  # 64 MB of float32: a copy of it, or 4 bytes per window (16M windows), would show
    values = aligned_empty((rows, 1))
    values[:, 0] = np.arange(rows, dtype=np.float32) % 1000
    L, H = 48, 12
    split = WindowSplit(values, values, WindowRanges([0], [rows - L - H + 1]), L, H, Panel(["a"], np.array([0, rows])))
    tiny = WindowSplit(values[:200].copy(), values[:200].copy(), np.arange(100), L, H)
    next(iter(tiny.dataset(4, shuffle_seed=0)))  # TensorFlow's own first-use memory (threads, kernels)
    before = _rss_mb()
    it = iter(split.dataset(256, shuffle_seed=0))
    for _ in range(5):
        x, y = next(it)
    grown = _rss_mb() - before
    assert grown < 24, f"{grown:.0f} MB more while reading batches of a 64 MB series"
    s = x.numpy()[:, 0, 0]  # each window reads its own rows
    np.testing.assert_allclose(y.numpy()[:, 0, 0], (s + L) % 1000)


def test_a_large_panel_read_is_not_kept_beside_the_rows_a_run_trains_on(tmp_path, monkeypatch):
    import pandas as pd

    from seqlab.config import compose
    from seqlab.data import load, panel_read

    frame = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 40), "y": np.arange(80.0)})
    frame.to_csv(tmp_path / "p.csv", index=False)
    cfg = compose(["dataset=panel", f"dataset.path={tmp_path / 'p.csv'}", "dataset.input_len=6", "dataset.horizon=3"])
    load(cfg.dataset)
    assert len(panel_read._CACHE) == 1  # small: kept for a sweep's next trial
    monkeypatch.setattr(panel_read, "CACHE_ROWS", 50)
    splits, _ = load(cfg.dataset)
    assert not panel_read._CACHE  # 80 rows as read (float64) dropped; the run keeps its float32 rows
    assert splits.artifacts["panel_rows"]().values[-1, 0] == 79.0  # backtest reads them again


@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_both_trainers_learn_from_an_order_computed_per_batch(trainer, tmp_path, monkeypatch):
    from conftest import QUIET
    from test_panel import H, L, panel_frame

    from seqlab.config import compose
    from seqlab.train import run

    monkeypatch.setattr(base, "ORDER_IN_MEMORY", 10)  # every split above it: the path of panels of millions of windows
    panel_frame(lengths=(60, 50, 70)).to_csv(tmp_path / "p.csv", index=False)
    cfg = compose(["dataset=panel", f"dataset.path={tmp_path / 'p.csv'}", "dataset.id_column=unique_id",
                   "dataset.time_column=ds", f"dataset.input_len={L}", f"dataset.horizon={H}", "model=linear",
                   f"trainer={trainer}", "trainer.epochs=8", "trainer.batch_size=16", "trainer.lr=0.01"] + QUIET)
    result = run(cfg, tmp_path / "run")
    loss, val = result.history["loss"], result.history["val_loss"]
    assert len(loss) == 8 and loss[-1] < 0.5 * loss[0] and val[-1] < 0.5 * val[0], (loss, val)
