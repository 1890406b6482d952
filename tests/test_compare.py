"""seqlab compare: statistics on synthetic groups with known differences, grouping, tables, pictures, errors."""

import json
import math
import re
import subprocess
import sys
import zlib

import numpy as np
import pytest
import yaml

from seqlab import stats
from seqlab.compare import compare, load_runs, main, run_compare


# --------------------------------------------------------------------------- statistics
def correlated_groups(n=5, gap=0.02, seed_sd=0.2, noise=0.005, rng=0):
    """Two models whose scores move together over seeds (the seed's split/initialisation dominates), `a` better."""
    r = np.random.default_rng(rng)
    s = r.normal(1.0, seed_sd, n)  # what a seed does to both
    return s + r.normal(0, noise, n), s + gap + r.normal(0, noise, n)


def test_paired_test_sees_a_difference_that_an_unpaired_test_misses():
    a, b = correlated_groups()
    t = stats.paired_test(b, a)  # how much b exceeds a (a has the lower loss)
    assert t["n"] == 5
    assert t["p"] < 0.05 and t["ci_low"] > 0 and abs(t["diff"] - 0.02) < 0.01
    assert stats.unpaired_test(a, b) > 0.5  # the seed spread (0.2) hides a 0.02 gap from Welch's test


def test_compare_uses_the_pairing(tmp_path):
    """Through the whole command: the correlated seeds give a significant verdict (an unpaired test could not)."""
    a, b = correlated_groups()
    for s in range(5):
        make_run(tmp_path / f"gru{s}", "gru", s, a[s])
        make_run(tmp_path / f"lstm{s}", "lstm", s, b[s])
    (block,), ranking = compare(load_runs(tmp_path), ["model.name"], "test.mse")
    assert ranking is None
    assert [g["group"] for g in block.groups] == ["gru", "lstm"]
    assert block.conclusion.startswith("gru beats lstm on test.mse by 0.0"), block.conclusion
    assert "5 paired seeds" in block.conclusion and "(Holm)" not in block.conclusion


def test_no_difference_is_reported_as_a_tie(tmp_path):
    r = np.random.default_rng(1)
    for s in range(4):
        make_run(tmp_path / f"gru{s}", "gru", s, 1 + r.normal(0, 0.1))
        make_run(tmp_path / f"lstm{s}", "lstm", s, 1 + r.normal(0, 0.1))
    (block,), _ = compare(load_runs(tmp_path), ["model.name"], "test.mse")
    assert "the data cannot tell" in block.conclusion and "4 paired seeds" in block.conclusion


def test_confidence_interval_covers_the_mean_95_percent_of_the_time():
    r = np.random.default_rng(0)
    hits = [(s := stats.summarize(r.normal(3.0, 2.0, 5)))["ci_low"] <= 3.0 <= s["ci_high"] for _ in range(4000)]
    assert abs(np.mean(hits) - 0.95) < 0.015
    d = [stats.paired_test(r.normal(1.5, 1, 6), r.normal(1.0, 1, 6)) for _ in range(3000)]
    assert abs(np.mean([x["ci_low"] <= 0.5 <= x["ci_high"] for x in d]) - 0.95) < 0.015


def test_holm_adjustment():
    # Holm: sorted p * (m, m-1, ...), made monotone, capped at 1, returned in input order
    assert stats.holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert stats.holm([0.2, 0.6]) == pytest.approx([0.4, 0.6])
    assert stats.holm([0.9, 0.8, 0.2]) == pytest.approx([1.0, 1.0, 0.6])


def test_nemenyi_cd_matches_demsar_table():
    # Demšar (2006) table 5a: q_0.05 = 1.960, 2.343, 2.569, 2.728 for k = 2..5
    for k, q in [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728)]:
        assert stats.nemenyi_cd(k, 10) == pytest.approx(q * math.sqrt(k * (k + 1) / 60), abs=2e-3)
    assert stats.ranks([[0.1, 0.3, 0.2], [0.5, 0.5, 0.1]], higher_is_better=False).tolist() == [
        [1, 3, 2], [2.5, 2.5, 1]]


# --------------------------------------------------------------------------- runs on disk
def make_run(path, model, seed, mse, dataset="sine", baseline=1.0, curve=None, status="completed"):
    (path / ".hydra").mkdir(parents=True)
    cfg = {"model": {"name": model, "units": 8}, "dataset": {"name": dataset}, "seed": seed,
           "trainer": {"lr": 0.001}}
    (path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (path / "metrics.json").write_text(json.dumps({"status": status, "task": "regression",
                                                   "test": {"loss": mse, "mse": mse, "mae": mse / 2},
                                                   "baseline": {"mse": baseline, "mae": 0.5}}))
    curve = curve if curve is not None else [1.0, 0.8, 0.7]
    (path / "history.csv").write_text("epoch,loss,val_loss\n" + "".join(
        f"{i + 1},{v},{v * 1.1 + 0.01 * seed}\n" for i, v in enumerate(curve)))


def four_models(root, dataset="sine", shift=0.0):
    r = np.random.default_rng(zlib.crc32(dataset.encode()))  # str hash() differs between processes
    for m, level in [("gru", 0.30), ("lstm", 0.32), ("conv1d", 0.45), ("simplernn", 0.60)]:
        for s in range(5):
            make_run(root / f"{dataset}_{m}_{s}", m, s, level + shift + 0.05 * s + r.normal(0, 0.003), dataset)


def test_four_groups_holm_baseline_tables_and_picture(tmp_path, capsys):
    four_models(tmp_path)
    assert main([str(tmp_path), "--by", "model.name", "--metric", "test.mse"]) == 0
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-3]  # the conclusion, then the blank line and the files written
    assert last.startswith("gru beats lstm on test.mse by 0.0"), out
    assert "(Holm)" in last and "also beats conv1d, simplernn" in last
    assert re.search(r"gru .* baseline 1: 0\.(59|6)\d* better", out), out  # gru: ~0.6 better than the baseline
    groups = (tmp_path / "compare.csv").read_text().splitlines()
    assert groups[0].startswith("rank,group,n,mean,std,ci_low,ci_high,baseline,vs_baseline")
    assert [row.split(",")[1] for row in groups[1:]] == ["gru", "lstm", "conv1d", "simplernn"]
    pairs = (tmp_path / "compare_pairs.csv").read_text().splitlines()
    assert len(pairs) == 1 + 6 and "p_holm" in pairs[0]
    assert "| gru |" in (tmp_path / "compare.md").read_text()
    assert (tmp_path / "compare.png").stat().st_size > 10_000


def test_several_datasets_give_average_ranks_and_a_cd_diagram(tmp_path, capsys):
    for name, shift in [("sine", 0.0), ("etth1", 0.1), ("adding", -0.1)]:
        four_models(tmp_path, name, shift)
    assert main([str(tmp_path), "--by", "model.name"]) == 0  # default metric: test.mse (regression)
    out = capsys.readouterr().out
    assert "average ranks over 3 datasets (1 = best): gru 1.00, lstm 2.00, conv1d 3.00, simplernn 4.00" in out
    assert "Nemenyi CD 2.71" in out  # 2.569 * sqrt(4 * 5 / 18)
    assert "gru ranks better than simplernn" in out
    assert {p.name for p in tmp_path.glob("compare*.png")} == {"compare_sine.png", "compare_etth1.png",
                                                                "compare_adding.png", "compare_cd.png"}


def test_grouping_by_two_keys_and_accuracy_direction(tmp_path):
    for s in range(3):
        for units, acc in [(8, 0.8), (16, 0.9)]:
            d = tmp_path / f"u{units}_{s}"
            make_run(d, "gru", s, 0.1)
            cfg = yaml.safe_load((d / ".hydra" / "config.yaml").read_text())
            cfg["model"]["units"] = units
            (d / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
            m = json.loads((d / "metrics.json").read_text())
            m["test"]["accuracy"], m["baseline"]["accuracy"] = acc + 0.01 * s, 0.5
            (d / "metrics.json").write_text(json.dumps(m))
    (block,), _ = compare(load_runs(tmp_path), ["model.name", "model.units"], "test.accuracy")
    assert block.direction == "max" and block.groups[0]["group"] == "gru, 16"
    assert block.conclusion.startswith("gru, 16 beats gru, 8 on test.accuracy by 0.1")


@pytest.mark.parametrize("args, message", [
    (["--by", "model.nme"], "--by: expected a config key of the runs, got 'model.nme' (valid choices: model.name, "),
    (["--by", "model.name", "--metric", "test.acc"], "--metric: expected a test metric the runs have, got 'test.acc' "
                                                     "(valid choices: test.loss, test.mae, test.mse)"),
    (["--by", "dataset.name"], "expected keys that split the runs into two or more groups, got 'one group (sine)' "
                               "(valid choices: model.name)"),
])
def test_bad_input_costs_one_line(tmp_path, capsys, args, message):
    for s in range(2):
        make_run(tmp_path / f"gru{s}", "gru", s, 0.3)
        make_run(tmp_path / f"lstm{s}", "lstm", s, 0.4)
    assert main([str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_no_runs_and_unfinished_runs(tmp_path, capsys):
    assert main([str(tmp_path), "--by", "model.name"]) == 2
    assert "found none" in capsys.readouterr().err
    make_run(tmp_path / "a", "gru", 0, 0.3, status="failed")
    assert main([str(tmp_path), "--by", "model.name"]) == 2
    assert "none completed" in capsys.readouterr().err


def test_groups_without_shared_seeds_say_so(tmp_path):
    make_run(tmp_path / "a", "gru", 0, 0.3)
    make_run(tmp_path / "b", "lstm", 1, 0.4)
    text = run_compare(tmp_path, ["model.name"], plot=False)
    assert "share 0 seed(s): no paired test" in text


def test_compare_starts_without_tensorflow(tmp_path):
    four_models(tmp_path)
    code = ("import sys; from seqlab.cli import main\n"
            "try:\n    main(['compare', sys.argv[1], '--by', 'model.name', '--no-plot'])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "gru beats lstm" in done.stdout
