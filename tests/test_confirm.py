"""sweep.confirm_top / confirm_seeds: the best trials re-trained on fresh seeds, best.yaml on the confirmed mean."""

import json

import pytest
import yaml

from seqlab.config import ConfigError, compose, validate
from seqlab.tune import confirm

TINY = ["dataset.length=400", "dataset.input_len=8", "dataset.horizon=2", "model.units=4", "trainer.epochs=1",
        "trainer.verbose=0", "trainer.tensorboard.enabled=false", "trainer.checkpoint.every=0",
        "sweep.isolation=none"]


@pytest.mark.parametrize("overrides, message", [
    (["sweep.confirm_top=-1"], "sweep.confirm_top"),
    (["sweep.confirm_top=2", "sweep.confirm_seeds=1"], "sweep.confirm_seeds: expected at least 2 fresh seeds"),
])
def test_confirm_keys_are_validated_before_training(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(["sweep=lr"] + overrides))
    validate(compose(["sweep=lr", "sweep.confirm_top=3", "sweep.confirm_seeds=5"]))


def _rows():
    # three completed trials; the search's best (t0) was a lucky seed
    return [{"trial_id": t, "status": "completed", "val_loss": v, "_values": {"trainer.lr": lr},
             "run_dir": f"trials/{t}"} for t, v, lr in [("t0", 0.10, 0.01), ("t1", 0.11, 0.001), ("t2", 0.30, 0.0001)]]


def test_confirmation_reranks_on_fresh_seeds_and_resumes_after_an_interrupt(tmp_path, monkeypatch):
    cfg = compose(["sweep=lr", "sweep.confirm_top=2", "sweep.confirm_seeds=3", "seed=7"])
    trained = []
    truth = {0.01: 0.20, 0.001: 0.12}  # t0's true level is worse than t1's

    def fake_run(trial_cfg, run_dir, objective, direction, isolation):
        if len(trained) == 4 and not (tmp_path / "interrupted").exists():
            (tmp_path / "interrupted").write_text("")
            raise KeyboardInterrupt
        trained.append((float(trial_cfg.trainer.lr), int(trial_cfg.seed)))
        run_dir.mkdir(parents=True)
        value = truth[float(trial_cfg.trainer.lr)] + 0.001 * trial_cfg.seed
        (run_dir / "metrics.json").write_text(json.dumps({"status": "completed"}))
        (run_dir / "history.csv").write_text(f"epoch,loss,val_loss\n1,0.5,{value + 0.1}\n2,0.4,{value}\n")
        return {"value": value, "status": "completed"}

    monkeypatch.setattr(confirm, "_run_one", fake_run)
    with pytest.raises(KeyboardInterrupt):
        confirm.confirm(cfg, tmp_path, _rows(), "val_loss", "min")
    assert len(trained) == 4
    rows = _rows()
    ranked = confirm.confirm(cfg, tmp_path, rows, "val_loss", "min")  # the same command again
    assert len(trained) == 6  # only the two seeds that had not finished were trained
    assert {s for _, s in trained} == {107, 108, 109}  # seed + 100 + k: never a seed the search used
    assert [r["trial_id"] for r in ranked] == ["t1", "t0"]  # re-ranked on the confirmed mean
    t1 = ranked[0]
    assert t1["confirmed_n"] == 3 and t1["confirmed_mean"] == pytest.approx(0.12 + 0.108)
    assert t1["confirmed_ci_low"] < t1["confirmed_mean"] < t1["confirmed_ci_high"]
    assert "t2" not in [r["trial_id"] for r in ranked] and "confirmed_mean" not in rows[2]
    note = confirm.best_note(t1, "val_loss")
    assert note["seeds"] == [107, 108, 109] and "over 3 fresh seeds" in note["summary"]


@pytest.mark.slow
def test_a_tiny_sweep_confirms_its_winners(tmp_path):
    """Through run_sweep and the real training path: confirm/<trial>/seed<k>/ runs, the columns in trials.csv,
    best.yaml on the confirmed mean with its interval, and the lines under the table."""
    from seqlab.tune.sweep import run_sweep

    cfg = compose(TINY + ["sweep=lr", "sweep.max_trials=3", "sweep.confirm_top=2", "sweep.confirm_seeds=2"])
    summary = run_sweep(cfg, tmp_path / "sweep", overrides=["sweep=lr"])
    sweep = tmp_path / "sweep"
    runs = sorted(p.relative_to(sweep).as_posix() for p in sweep.glob("confirm/*/seed*/metrics.json"))
    assert len(runs) == 4 and all(r.endswith(("seed100/metrics.json", "seed101/metrics.json")) for r in runs)
    header = (sweep / "trials.csv").read_text().splitlines()[0]
    assert header.endswith("confirmed_mean,confirmed_std,confirmed_ci_low,confirmed_ci_high,confirmed_n")
    best = yaml.safe_load((sweep / "best.yaml").read_text())
    confirmed = [r for r in summary.rows if r.get("confirmed_n")]
    winner = min(confirmed, key=lambda r: r["confirmed_mean"])
    assert best["trial_id"] == winner["trial_id"] and best["confirmed"]["n"] == 2
    assert best["confirmed"]["mean"] == pytest.approx(winner["confirmed_mean"])
    assert "confirmed on fresh seeds" in summary.table()
    # the same command again: nothing is retrained
    mtimes = {p: p.stat().st_mtime for p in sweep.glob("confirm/*/seed*/metrics.json")}
    run_sweep(cfg, sweep, overrides=["sweep=lr"])
    assert {p: p.stat().st_mtime for p in sweep.glob("confirm/*/seed*/metrics.json")} == mtimes
