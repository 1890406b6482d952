"""The registries: YAML stems == registry keys in every group, every option composes and validates, every model
builds on a tiny spec, and the data checks fail fast before TensorFlow is imported."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from seqlab.config import GROUPS, ConfigError, compose, options, validate
from seqlab.registry import registry
from seqlab.spec import DataSpec

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
# what the options whose YAML leaves a key required (???) need to validate; files are written per test
NEEDS = {
    ("dataset", "csv"): ["dataset.path={series}"],
    ("dataset", "panel"): ["dataset.path={series}", "dataset.layout=columns"],  # columns a and b: two series
    ("dataset", "text_csv"): ["dataset.path={texts}"],
    ("dataset", "ucr"): ["dataset.train_path={ucr}", "dataset.test_path={ucr}"],
    ("dataset", "custom"): ["dataset.loader=json:loads"],
    ("model", "custom"): ["model.builder=json:loads"],
    ("trainer", "lstsq"): ["model=linear"],  # it solves model=linear only: with the default lstm it is refused
}


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    series = tmp_path / "series.csv"
    series.write_text("a,b\n" + "\n".join(f"{v:.3f},{w:.3f}" for v, w in rng.normal(size=(400, 2))))
    texts = tmp_path / "texts.csv"
    texts.write_text("text,label\n" + "\n".join(f"word{i} text,{i % 2}" for i in range(20)))
    ucr = tmp_path / "ucr.tsv"
    ucr.write_text("\n".join(f"{i % 2}\t" + "\t".join(str(v) for v in rng.normal(size=8)) for i in range(10)))
    return {"series": series, "texts": texts, "ucr": ucr}


@pytest.mark.parametrize("group", GROUPS)
def test_yaml_stems_equal_registry_keys(group):
    assert set(options(group)) == set(registry(group).names())


def test_every_entry_has_loadable_code_where_it_has_code():
    for group in GROUPS:
        for e in registry(group):
            assert e.group == group and e.schema is not None
    assert {e.target for e in registry("trainer")} == {"seqlab.train.fit:train", "seqlab.train.tape:train",
                                                       "seqlab.train.lstsq:train"}
    for e in registry("dataset"):
        assert callable(e.load()) and e.check is not None


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_of_every_group_composes_and_validates(group, option, files):
    overrides = [o.format(**files) for o in NEEDS.get((group, option), [])]
    cfg = compose([f"{group}={option}"] + overrides)
    assert cfg[group].name == option
    validate(cfg)


def test_required_keys_of_options_fail_with_their_name():
    for (group, option), needs in NEEDS.items():
        key = needs[0].partition("=")[0]
        with pytest.raises(ConfigError, match="^" + key.replace(".", r"\.")):
            validate(compose([f"{group}={option}"]))


SPECS = {
    "forecast": DataSpec("f", "regression", (12, 3), (4, 2)),
    "binary_text": DataSpec("t", "binary", (10,), num_classes=2, vocab_size=50),
    "multiclass": DataSpec("u", "multiclass", (10, 1), num_classes=5),
}
EXPECTED = {"forecast": (4, 2), "binary_text": (1,), "multiclass": (5,)}
BUILTIN_MODELS = [n for n in registry("model").names() if n != "custom"]


@pytest.mark.parametrize("model", registry("model").names())
@pytest.mark.parametrize("spec_name", list(SPECS))
def test_every_model_builds_on_a_tiny_spec(model, spec_name, tmp_path, monkeypatch):
    from seqlab.models import build

    overrides = [f"model={model}"]
    if model == "custom":  # the example module of docs/EXTENDING.md
        monkeypatch.syspath_prepend(str(EXAMPLES))
        overrides.append("model.builder=my_models:tcn")
    cfg = compose(overrides)
    m = build(cfg.model, cfg.regularizer, SPECS[spec_name])
    assert tuple(m.output_shape[1:]) == EXPECTED[spec_name]


def test_capability_errors_list_the_options_that_have_it():
    texts = registry("dataset").with_capability("text")
    assert set(texts) >= {"imdb", "text_synth", "text_csv"} and "sine" not in texts
    with pytest.raises(ConfigError, match=r"regularizer\.adversarial.*" + ", ".join(texts)):
        validate(compose(["regularizer.adversarial=0.3"]))
    forecasting = registry("dataset").with_capability("window_forecasting")
    with pytest.raises(ConfigError, match=", ".join(forecasting)):
        validate(compose(["dataset=adding", "model.norm=last"]))
    masking = registry("model").with_capability("masks_padding")
    with pytest.raises(ConfigError, match=r"model\.pooling.*" + ", ".join(masking)):
        validate(compose(["dataset=text_synth", "dataset.eval_sequence_length=32", "model=conv1d"]))


# --------------------------------------------------------------------------- checks before TensorFlow
FAST_FAILURES = {
    "missing file": (["dataset=csv", "dataset.path={tmp}/nope.csv"], "dataset.path"),
    "missing column": (["dataset=csv", "dataset.path={series}", "dataset.targets=[c]"], "dataset.targets"),
    "non-numeric column": (["dataset=csv", "dataset.path={mixed}", "dataset.features=[name]"], "dataset.features"),
    "too-short series": (["dataset=csv", "dataset.path={series}", "dataset.input_len=300"], "dataset.input_len"),
    "missing label column": (["dataset=text_csv", "dataset.path={texts}", "dataset.label_column=stars"],
                             "dataset.label_column"),
    "missing ucr file": (["dataset=ucr", "dataset.train_path={tmp}/a.tsv", "dataset.test_path={tmp}/b.tsv"],
                         "dataset.train_path"),
}


def test_data_checks_fail_before_tensorflow_is_imported(files, tmp_path):
    """Each mistake fails in validate() with a ConfigError naming the key, and TensorFlow never loads."""
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("name,v\n" + "\n".join(f"x{i},{i}" for i in range(200)))
    paths = {**files, "mixed": mixed, "tmp": tmp_path}
    cases = {name: [o.format(**paths) for o in overrides] for name, (overrides, _) in FAST_FAILURES.items()}
    code = textwrap.dedent("""
        import json, sys, time
        from seqlab.config import ConfigError, compose, validate
        out = {}
        for name, overrides in json.loads(sys.argv[1]).items():
            cfg = compose(overrides)
            start = time.perf_counter()
            try:
                validate(cfg)
                out[name] = None
            except ConfigError as e:
                out[name] = [str(e), time.perf_counter() - start]
        out["tensorflow imported"] = "tensorflow" in sys.modules or "keras" in sys.modules
        print(json.dumps(out))
    """)
    r = subprocess.run([sys.executable, "-c", code, json.dumps(cases)], capture_output=True, text=True, check=True)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out.pop("tensorflow imported") is False
    for name, (_, key) in FAST_FAILURES.items():
        assert out[name] is not None, f"{name}: validate() accepted it"
        message, seconds = out[name]
        assert message.startswith(key + ":"), (name, message)
        assert seconds < 1.0, (name, seconds)


def test_option_modules_are_found_without_a_list_and_support_modules_register_nothing():
    """A new model or dataset family is one module beside the others (plus its YAML): the packages import every
    module that is not shared code, and each such module's options name it as their code."""
    import pkgutil

    import seqlab.data
    import seqlab.models
    from seqlab.registry import registry

    for package, group in ((seqlab.data, "dataset"), (seqlab.models, "model")):
        modules = {m.name for m in pkgutil.iter_modules(package.__path__)} - set(package.SUPPORT_MODULES)
        targets = {e.target.split(":")[0].rsplit(".", 1)[1] for e in registry(group) if e.target}
        assert targets <= modules, (group, targets - modules)
        assert modules - targets <= {"regularizers"}, (group, modules - targets)  # regularizer presets: YAML only
