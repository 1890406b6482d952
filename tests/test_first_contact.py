"""What a new user meets first: --help lists every subcommand, --version is seqlab's, a typo names the real key."""

import pytest

from seqlab import __version__, cli
from seqlab.config.keys import unknown_override


def run_main(capsys, *argv):
    code = 0
    try:
        cli.main(list(argv))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_every_subcommand_from_the_one_registry(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    assert set(cli.SUBCOMMANDS) >= {"report", "predict", "export"}
    for name in cli.SUBCOMMANDS:
        assert f"seqlab {name} " in out
    assert "seqlab --version" in out


def test_version_is_seqlabs(capsys):
    code, out, _ = run_main(capsys, "--version")
    assert (code, out.strip()) == (0, f"seqlab {__version__}")


@pytest.mark.parametrize("arg,message", [
    ("trainer.epoch=2", "trainer.epoch: no such config key; did you mean trainer.epochs?"),
    ("model.unit=8", "model.unit: no such config key; did you mean model.units?"),
    ("trainer.checkpoint.evry=2", "did you mean trainer.checkpoint.every?"),
])
def test_a_typo_in_a_key_names_the_closest_key_before_hydra(capsys, arg, message):
    code, _, err = run_main(capsys, arg)
    assert code == cli.EXIT_CONFIG
    assert message in err and "+" not in err and "HYDRA_FULL_ERROR" not in err


def test_real_keys_and_hydra_syntax_are_not_typos():
    from seqlab.config import GROUPS
    from seqlab.registry import registry

    schemas = {g: [e.schema for e in registry(g)] for g in GROUPS}
    fine = ["trainer.epochs=2", "model=conv1d", "model.filters=8", "+trainer.extra=1", "~trainer.clipnorm",
            "hydra.run.dir=x", "experiment=etth1_gru", "model.params.depth=3", "sweep.space.trainer.lr.max=0.1",
            "seed=3", "trainer.tensorboard.enabled=false", "hydra/launcher=basic", "--cfg", "job"]
    assert unknown_override(fine, schemas) is None


def test_the_log_names_the_dialect_of_a_plain_file_and_not_the_time_column_as_text(tmp_path, caplog):
    import logging

    from seqlab.config import compose
    from seqlab.data.series import read_series

    path = tmp_path / "plain.csv"
    path.write_text("timestamp,load,site\n" + "".join(f"2024-01-01 {h:02d}:00,{h}.5,a\n" for h in range(20)))
    with caplog.at_level(logging.INFO, logger="seqlab"):
        ds = compose(["dataset=csv", f"dataset.path={path}", "dataset.time_column=timestamp"]).dataset
        read_series(path, "dataset.path", ds)
    text = caplog.text
    assert "plain.csv: dialect: separator ',', decimal mark '.', no thousands separator, encoding utf-8" in text
    assert "text columns (not used as numbers): site" in text and "timestamp" not in text.split("text columns")[1]
