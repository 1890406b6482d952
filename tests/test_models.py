"""Every model builds on tiny specs with the right head; regularizers land where they should."""

import numpy as np
import pytest

from seqlab.config import compose
from seqlab.data.base import DataSpec
from seqlab.models import build, head_for

SPECS = {
    "forecast": DataSpec("f", "regression", (12, 3), (4, 2)),
    "scalar": DataSpec("a", "regression", (12, 2), (1,)),
    "binary_text": DataSpec("t", "binary", (10,), num_classes=2, vocab_size=50),
    "multiclass": DataSpec("u", "multiclass", (10, 1), num_classes=5),
}
EXPECTED = {"forecast": (2, 4, 2), "scalar": (2, 1), "binary_text": (2, 1), "multiclass": (2, 5)}


def _x(spec):
    rng = np.random.default_rng(0)
    if spec.vocab_size:
        x = rng.integers(1, spec.vocab_size, (2,) + spec.input_shape).astype("int32")
        x[:, 7:] = 0  # padding
        return x
    return rng.normal(size=(2,) + spec.input_shape).astype("float32")


@pytest.mark.parametrize("model", ["simplernn", "lstm", "gru", "conv1d"])
@pytest.mark.parametrize("spec_name", list(SPECS))
def test_builds_with_right_output_shape(model, spec_name):
    spec = SPECS[spec_name]
    size = "model.filters=4" if model == "conv1d" else "model.units=4"
    cfg = compose([f"model={model}", size, "model.embedding_dim=4"])
    m = build(cfg.model, cfg.regularizer, spec)
    y = np.asarray(m(_x(spec), training=False))
    assert y.shape == EXPECTED[spec_name]
    units, activation, loss = head_for(spec)
    assert m.get_layer("head").activation.__name__ == activation
    if spec.task == "binary":
        assert loss == "binary_crossentropy" and np.all((y > 0) & (y < 1))
    if spec.task == "multiclass":
        assert loss == "sparse_categorical_crossentropy" and np.allclose(y.sum(-1), 1, atol=1e-5)


# every RNN and every pooling once (the pooling is the same code after any RNN: the 3 x 3 product repeated it)
@pytest.mark.parametrize("model,pooling", [("lstm", "last"), ("gru", "average"), ("simplernn", "max")])
def test_stacked_bidirectional_and_pooling(model, pooling):
    cfg = compose([f"model={model}", "model.units=3", "model.layers=2", "model.bidirectional=true",
                   f"model.pooling={pooling}"])
    m = build(cfg.model, cfg.regularizer, SPECS["binary_text"])
    assert sum("bidirectional" in layer.name for layer in m.layers) == 2
    assert m(_x(SPECS["binary_text"])).shape == (2, 1)


def test_padding_is_masked_for_rnns():
    import keras

    spec = SPECS["binary_text"]
    for pooling in ("last", "average", "max"):
        # seeded: with some random weights one more real step leaves a max pool's maximum unchanged (order-dependent)
        keras.utils.set_random_seed(0)
        cfg = compose(["model=gru", "model.units=4", f"model.pooling={pooling}"])
        m = build(cfg.model, cfg.regularizer, spec)
        x = _x(spec)
        x2 = x.copy()
        x2 = np.concatenate([x2[:, :7], np.zeros((2, 3), "int32")], axis=1)
        longer = x2.copy()
        assert np.allclose(m(x2), m(longer))
        # changing only padded positions' ids to 0 is a no-op; appending real tokens is not
        longer[:, 7] = 3
        assert not np.allclose(m(x2), m(longer))


def test_l2_adds_losses_and_dropout_is_off_at_inference():
    spec = SPECS["forecast"]
    plain = compose(["model=lstm", "model.units=4"])
    assert len(build(plain.model, plain.regularizer, spec).losses) == 0
    reg = compose(["model=lstm", "model.units=4", "regularizer=l2"])
    m = build(reg.model, reg.regularizer, spec)
    assert len(m.losses) >= 3 and all(float(v) > 0 for v in m.losses)
    drop = compose(["model=conv1d", "model.filters=8", "regularizer=dropout", "regularizer.dropout=0.5"])
    m = build(drop.model, drop.regularizer, spec)
    x = _x(spec)
    assert np.allclose(m(x, training=False), m(x, training=False))
    assert not np.allclose(m(x, training=True), m(x, training=True))


@pytest.mark.parametrize("window", [False, True])
def test_head_dropout_drops_before_the_head_alone(window):
    """regularizer.head_dropout: null follows regularizer.dropout; a number sets the head's rate alone (SegRNN's
    dropout), and 0 leaves the recurrent layers' dropout without a head dropout."""
    extra = ["model.norm=last", "model.channel_independent=true", "model.patch=4", "model.patch_embedding=true",
             "model.decoder=pmf"] if window else []
    spec = DataSpec("w", "regression", (12, 3), (4, 3)) if window else SPECS["forecast"]

    def rates(*overrides):
        cfg = compose(["model=gru", "model.units=4", "regularizer=dropout", *extra, *overrides])
        m = build(cfg.model, cfg.regularizer, spec)
        head = [layer.rate for layer in m.layers if layer.name == "head_dropout"]
        return head, sorted({layer.dropout for layer in m.layers if hasattr(layer, "cell")})

    assert rates("regularizer.dropout=0.2") == ([0.2], [0.2])
    assert rates("regularizer.dropout=0", "regularizer.head_dropout=0.5") == ([0.5], [0.0])
    assert rates("regularizer.dropout=0.2", "regularizer.head_dropout=0") == ([], [0.2])


def test_conv1d_per_layer_filters_and_kernels_build_fcn_and_are_checked():
    """FCN's blocks (Wang et al. 2017): 128 / 256 / 128 filters of widths 8 / 5 / 3; a list of the wrong length, a
    zero, or a sweep of the plain key the list overrides is refused, naming the key."""
    from seqlab.config import ConfigError, validate

    fcn = ["model=conv1d", "model.layers=3", "model.padding=same", "model.filters_per_layer=[128,256,128]",
           "model.kernel_size_per_layer=[8,5,3]"]
    cfg = compose(fcn)
    validate(cfg)
    m = build(cfg.model, cfg.regularizer, DataSpec("u", "multiclass", (50, 2), num_classes=3))
    convs = [layer for layer in m.layers if layer.name.startswith("conv1d_")]
    assert [(c.filters, c.kernel_size[0]) for c in convs] == [(128, 8), (256, 5), (128, 3)]
    assert convs[1].kernel.shape == (5, 128, 256)
    for bad, key in ((["model.filters_per_layer=[8,8]"], "model.filters_per_layer"),
                     (["model.kernel_size_per_layer=[8,0,3]"], "model.kernel_size_per_layer"),
                     (["sweep=capacity"], "sweep.space")):
        with pytest.raises(ConfigError, match="^" + key.replace(".", r"\.") + ": expected"):
            validate(compose(fcn + bad))
    with pytest.raises(ConfigError, match=r"^model\.kernel_size_per_layer: expected a kernel that fits"):
        build(compose(fcn + ["model.padding=valid", "model.dilated=false"]).model, cfg.regularizer,
              DataSpec("u", "multiclass", (10, 1), num_classes=3))


def test_conv1d_batch_norm_uses_batch_statistics_in_training_and_moving_averages_after(tmp_path):
    """model.batch_norm (FCN's conv -> BN -> ReLU): in training a series' output depends on its batch; in
    inference (and after save/load) it is the series' own, and training moves the moving averages."""
    import keras

    spec = SPECS["multiclass"]
    cfg = compose(["model=conv1d", "model.filters=4", "model.batch_norm=true", "model.padding=same"])
    m = build(cfg.model, cfg.regularizer, spec)
    norms = [layer for layer in m.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == cfg.model.layers
    assert all(m.get_layer(f"conv1d_{i}").bias is None for i in range(cfg.model.layers))
    x = np.random.default_rng(1).normal(size=(8,) + spec.input_shape).astype("float32") * 3 + 1
    alone, together = np.asarray(m(x[:1], training=False)), np.asarray(m(x, training=False))[:1]
    assert np.allclose(alone, together, atol=1e-6)
    assert not np.allclose(np.asarray(m(x[:2], training=True))[:1], np.asarray(m(x, training=True))[:1], atol=1e-4)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = np.asarray(norms[0].moving_mean).copy()
    m.fit(x, np.arange(8) % 5, epochs=2, batch_size=4, verbose=0)
    assert not np.allclose(before, np.asarray(norms[0].moving_mean))
    m.save(tmp_path / "m.keras")
    assert np.allclose(m(x, training=False), keras.saving.load_model(tmp_path / "m.keras")(x, training=False),
                       atol=1e-6)
    plain = compose(["model=conv1d", "model.filters=4"])
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in build(plain.model, plain.regularizer, spec).layers)


def test_model_round_trips_through_keras_file(tmp_path):
    import keras

    spec = SPECS["binary_text"]
    cfg = compose(["model=lstm", "model.units=4", "model.pooling=max"])
    m = build(cfg.model, cfg.regularizer, spec)
    m.save(tmp_path / "m.keras")
    m2 = keras.saving.load_model(tmp_path / "m.keras")
    assert np.allclose(m(_x(spec)), m2(_x(spec)))


@pytest.mark.slow
def test_adversarial_perturbation_raises_the_loss_and_is_the_identity_outside_training(tmp_path):
    """regularizer.adversarial: the push along the loss gradient raises the loss, in proportion to epsilon."""
    import keras

    from seqlab.models.adversarial import HookedModel, _rms_word_norm, adversarial_loss, noise_layer
    from seqlab.train.run import compile_model

    spec = SPECS["binary_text"]
    x, y = _x(spec), np.array([0.0, 1.0], "float32")
    plain_cfg = compose(["model=lstm", "model.units=4", "model.pooling=max"])
    plain = build(plain_cfg.model, plain_cfg.regularizer, spec)
    gaps = []
    for eps in (1e-4, 0.5, 2.0):
        cfg = compose(["model=lstm", "model.units=4", "model.pooling=max", f"regularizer.adversarial={eps}"])
        m = build(cfg.model, cfg.regularizer, spec)
        compile_model(m, cfg.trainer, spec, steps_per_epoch=1)
        layer = noise_layer(m)
        assert layer is not None and layer.epsilon == eps and isinstance(m, HookedModel) and m.loss_hooks
        m.set_weights(plain.get_weights())  # the noise layer has no weights: same function as the plain model
        assert np.allclose(m(x), plain(x))
        y_pred = m(x, training=True)
        clean = float(m.compute_loss(x, y, y_pred, training=False))  # no hooks outside training
        adv = float(adversarial_loss(m, x, y))
        assert layer.perturb is None  # reset after the step
        # the training loss both trainers take: the hook's mean of the clean and the adversarial loss
        assert np.isclose(float(m.compute_loss(x, y, y_pred, training=True)), (clean + adv) / 2, rtol=1e-5)
        gaps.append(adv - clean)
    assert abs(gaps[0]) < 1e-3 and 0 < gaps[1] < gaps[2], gaps
    assert np.allclose(m(x, training=False), plain(x, training=False))
    m.save(tmp_path / "adv.keras")
    assert np.allclose(keras.saving.load_model(tmp_path / "adv.keras")(x), plain(x))
    # the perturbation's scale: the RMS norm of the unmasked word vectors, per review
    e = np.zeros((2, 4, 3), "float32")
    e[0, :2] = [3.0, 4.0, 0.0]  # two words of norm 5, then padding with junk that the mask hides
    e[0, 2:] = 100.0
    e[1] = [1.0, 0.0, 0.0]
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    assert np.allclose(np.asarray(_rms_word_norm(e, mask)).ravel(), [5.0, 1.0])


# --------------------------------------------------------------------------- window forecasting (model.norm etc.)
WINDOW = DataSpec("w", "regression", (24, 3), (6, 3))


def _window_model(*overrides):
    cfg = compose(["model=gru", "model.units=4"] + list(overrides))
    return build(cfg.model, cfg.regularizer, WINDOW)


@pytest.mark.parametrize("norm", ["last", "revin"])
def test_window_norm_adds_the_level_back(norm):
    m = _window_model(f"model.norm={norm}", "model.patch=4")
    x = np.random.default_rng(0).normal(size=(2, 24, 3)).astype("float32")
    shift = np.array([10.0, -3.0, 0.5], "float32")  # a per-channel level change moves the forecast with it
    y, y_shifted = np.asarray(m(x)), np.asarray(m(x + shift))
    assert y.shape == (2, 6, 3)
    assert np.allclose(y_shifted - y, shift, atol=1e-3)
    if norm == "revin":  # ... and revin also follows a change of scale
        assert np.allclose(np.asarray(m(3.0 * x)), 3.0 * y, atol=1e-3)


def test_channel_independence_shares_weights_across_channels():
    m = _window_model("model.norm=last", "model.channel_independent=true", "model.patch=8")
    x = np.random.default_rng(1).normal(size=(2, 24, 3)).astype("float32")
    perm = [2, 0, 1]
    # one univariate model per channel: permuting the input channels permutes the forecast channels
    assert np.allclose(np.asarray(m(x[:, :, perm])), np.asarray(m(x))[:, :, perm], atol=1e-5)
    assert m.get_layer("head").units == 6  # one horizon per channel series


def test_window_options_survive_save_and_load(tmp_path):
    import keras

    m = _window_model("model.norm=revin", "model.channel_independent=true", "model.patch=6")
    x = np.random.default_rng(2).normal(size=(2, 24, 3)).astype("float32")
    m.save(tmp_path / "m.keras")
    assert np.allclose(keras.saving.load_model(tmp_path / "m.keras")(x), m(x), atol=1e-6)


def test_window_options_reject_what_they_cannot_do():
    from seqlab.config import ConfigError, validate

    with pytest.raises(ConfigError, match="model.patch"):
        _window_model("model.patch=5")  # 24 steps do not split into patches of 5
    with pytest.raises(ConfigError, match="all input columns"):  # unnamed columns, 3 in, 1 out: no level for it
        cfg = compose(["model=gru", "model.units=4", "model.norm=last"])
        build(cfg.model, cfg.regularizer, DataSpec("w", "regression", (24, 3), (6, 1)))
    with pytest.raises(ConfigError, match="model.norm"):
        validate(compose(["dataset=adding", "model.norm=last"]))
    with pytest.raises(ConfigError, match="model.norm"):
        validate(compose(["model.norm=first"]))
    with pytest.raises(ConfigError, match="model.patch"):
        validate(compose(["dataset=etth1", "model.patch=5"]))


PMF = ("model.norm=last", "model.patch=3", "model.patch_embedding=true", "model.decoder=pmf")


@pytest.mark.parametrize("cell", ["gru", "lstm", "simplernn"])
def test_the_pmf_decoder_forecasts_each_segment_from_its_own_query(cell):
    """SegRNN's parallel decoder: the 6-step horizon is 2 segments of 3 steps (patch 3 on 24 input steps); a
    segment's position embedding moves only that segment, a channel's embedding only that channel, and each
    example's forecast only depends on its own window (rows are not mixed across the batch)."""
    cfg = compose([f"model={cell}", "model.units=4", "model.norm=last", "model.patch=3", "model.patch_embedding=true",
                   "model.decoder=pmf", "model.channel_independent=true"])
    m = build(cfg.model, cfg.regularizer, WINDOW)
    x = np.random.default_rng(3).normal(size=(4, 24, 3)).astype("float32")
    y = np.asarray(m(x))
    assert y.shape == (4, 6, 3)
    assert np.allclose(np.asarray(m(x[::-1])), y[::-1], atol=1e-5)  # batch rows stay in order
    queries = m.get_layer("segment_queries")
    assert tuple(queries.position.shape) == (2, 2) and tuple(queries.channel.shape) == (3, 2)
    recurrent = [layer for layer in m.layers if layer.name == f"{cell}_0"]
    assert len(recurrent) == 1  # one layer encodes and decodes (shared weights)
    pos = np.asarray(queries.position)
    queries.position.assign(pos + np.array([[0.0, 0.0], [5.0, -5.0]], "float32"))  # segment 2 only
    moved = np.abs(np.asarray(m(x)) - y).max(axis=(0, 2))
    assert np.all(moved[:3] < 1e-6) and np.all(moved[3:] > 1e-4), moved
    queries.position.assign(pos)
    chan = np.asarray(queries.channel)
    queries.channel.assign(chan + np.array([[0.0, 0.0], [0.0, 0.0], [5.0, -5.0]], "float32"))  # channel 3 only
    moved = np.abs(np.asarray(m(x)) - y).max(axis=(0, 1))
    assert np.all(moved[:2] < 1e-6) and moved[2] > 1e-4, moved


def test_the_pmf_decoder_without_a_channel_embedding_asks_every_channel_the_same(tmp_path):
    """model.channel_embedding=false (SegRNN's channel_id=0): the position embedding fills the query; channels
    still get their own forecasts from their own windows, and a channel's window moves only its forecast."""
    import keras

    cfg = compose(["model=gru", "model.units=4", *PMF, "model.channel_independent=true",
                   "model.channel_embedding=false"])
    m = build(cfg.model, cfg.regularizer, WINDOW)
    queries = m.get_layer("segment_queries")
    assert tuple(queries.position.shape) == (2, 4) and not hasattr(queries, "channel")
    x = np.random.default_rng(4).normal(size=(4, 24, 3)).astype("float32")
    y = np.asarray(m(x))
    assert np.allclose(np.asarray(m(x[::-1])), y[::-1], atol=1e-5)
    x2 = x.copy()
    x2[:, :, 1] = x[:, :, 0]  # channel 2 now reads channel 1's window: the same forecast, as nothing else differs
    y2 = np.asarray(m(x2))
    assert np.allclose(y2[:, :, 1], y2[:, :, 0], atol=1e-5) and np.allclose(y2[:, :, 2], y[:, :, 2], atol=1e-6)
    m.save(tmp_path / "pmf.keras")
    assert np.allclose(keras.saving.load_model(tmp_path / "pmf.keras")(x), y, atol=1e-6)


def test_the_pmf_decoder_without_channel_independence_forecasts_every_target_per_segment(tmp_path):
    import keras

    m = _window_model(*PMF)
    x = np.random.default_rng(4).normal(size=(2, 24, 3)).astype("float32")
    y = np.asarray(m(x))
    assert y.shape == (2, 6, 3)
    assert m.get_layer("head").units == 3 * 3  # each segment: patch steps x 3 targets
    queries = m.get_layer("segment_queries")
    assert tuple(queries.position.shape) == (2, 4) and not hasattr(queries, "channel")  # no channel embedding
    m.save(tmp_path / "pmf.keras")
    assert np.allclose(keras.saving.load_model(tmp_path / "pmf.keras")(x), y, atol=1e-6)


def test_the_pmf_decoder_trains():
    from seqlab.train.run import compile_model

    spec = DataSpec("w", "regression", (24, 2), (8, 2))
    cfg = compose(["model=gru", "model.units=16", "model.norm=last", "model.patch=4", "model.patch_embedding=true",
                   "model.decoder=pmf", "model.channel_independent=true", "trainer.lr=0.01"])
    m = build(cfg.model, cfg.regularizer, spec)
    compile_model(m, cfg.trainer, spec, steps_per_epoch=8)
    t = np.arange(64 * 40, dtype="float32")
    series = np.stack([np.sin(t / 4.0), np.cos(t / 6.0)], -1)
    starts = np.arange(0, len(t) - 32, 5)
    x = np.stack([series[s:s + 24] for s in starts])
    y = np.stack([series[s + 24:s + 32] for s in starts])
    hist = m.fit(x, y, batch_size=64, epochs=15, verbose=0).history["loss"]
    assert hist[-1] < 0.2 * hist[0], hist


def test_the_pmf_decoder_rejects_what_it_cannot_do():
    from seqlab.config import ConfigError, validate

    base = ["dataset=etth1", "model=gru", "model.patch=48"]
    with pytest.raises(ConfigError, match=r"^model.patch_embedding: expected true with model.decoder=pmf"):
        validate(compose(base + ["model.decoder=pmf"]))
    with pytest.raises(ConfigError, match=r"^model.decoder: expected one of"):
        validate(compose(base + ["model.decoder=rmf"]))
    pmf = base + ["model.patch_embedding=true", "model.decoder=pmf"]
    for key, value in (("layers", 2), ("bidirectional", "true"), ("pooling", "average")):
        with pytest.raises(ConfigError, match=rf"^model.{key}: .*with model.decoder=pmf"):
            validate(compose(pmf + [f"model.{key}={value}"]))
    with pytest.raises(ConfigError, match=r"^model.decoder: .*divides dataset.horizon \(100\)"):
        validate(compose(pmf + ["dataset.horizon=100"]))
    with pytest.raises(ConfigError, match=r"^model.patch_embedding: expected a positive model.patch"):
        validate(compose(["dataset=etth1", "model=gru", "model.patch_embedding=true"]))
    with pytest.raises(ConfigError, match=r"^model.channel_embedding: expected true without model.channel_indep"):
        validate(compose(pmf + ["model.channel_embedding=false"]))
    with pytest.raises(ConfigError, match=r"^model.channel_embedding: expected true unless model.decoder=pmf"):
        validate(compose(base + ["model.channel_independent=true", "model.channel_embedding=false"]))
    validate(compose(pmf + ["model.channel_independent=true", "model.channel_embedding=false"]))
    validate(compose(pmf))  # the valid combination passes


def test_a_conv_kernel_longer_than_the_input_is_a_config_error():
    from seqlab.config import ConfigError, compose
    from seqlab.models import build
    from seqlab.spec import DataSpec

    spec = DataSpec(name="tiny", task="regression", input_shape=(20, 2), output_shape=(3, 2))
    cfg = compose(["model=conv1d", "model.padding=valid", "model.kernel_size=9"])
    with pytest.raises(ConfigError, match=r"^model.kernel_size: .*12 steps reaching conv1d layer 1.*got 9"):
        build(cfg.model, cfg.regularizer, spec)
    cfg = compose(["model=conv1d", "model.padding=causal", "model.kernel_size=9"])
    assert build(cfg.model, cfg.regularizer, spec).output_shape == (None, 3, 2)  # causal padding keeps the length


def test_a_two_argument_custom_builder_refuses_any_regularizer_value_even_under_regularizer_none(tmp_path,
                                                                                                 monkeypatch):
    """`regularizer=none regularizer.l2=0.01` asks for l2 too: a builder that cannot apply it says so."""
    from omegaconf import OmegaConf

    from seqlab.config import ConfigError
    from seqlab.models.custom import build

    (tmp_path / "two_args.py").write_text(
        "import keras\n"
        "def build(cfg, spec):\n"
        "    x = keras.Input(spec.input_shape)\n"
        "    return keras.Model(x, keras.layers.Dense(spec.output_shape[-1])(keras.layers.Flatten()(x)))\n")
    monkeypatch.chdir(tmp_path)
    model_cfg = OmegaConf.create({"name": "custom", "builder": "two_args:build", "params": {}})
    spec = DataSpec("a", "regression", (12, 2), (1,))
    none = OmegaConf.create({"name": "none", "l2": 0.0, "dropout": 0.0, "recurrent_dropout": 0.0,
                             "head_dropout": None, "adversarial": 0.0})
    assert build(model_cfg, none, spec).output_shape == (None, 1)
    with pytest.raises(ConfigError, match=r"regularizer=none regularizer.l2=0.01"):
        build(model_cfg, OmegaConf.merge(none, {"l2": 0.01}), spec)


def test_behaviour_follows_registry_capabilities_not_option_names():
    from seqlab.registry import registry

    assert registry("trainer").with_capability("exact_solve") == ["lstsq"]


def test_a_conv1d_kernel_longer_than_the_window_is_refused_by_the_checks_before_tensorflow():
    from seqlab.config import ConfigError, validate

    cfg = compose(["model=conv1d", "model.padding=valid", "model.kernel_size=9", "model.layers=2",
                   "dataset.input_len=12"])
    with pytest.raises(ConfigError, match="model.kernel_size"):
        validate(cfg)
    validate(compose(["model=conv1d", "model.padding=valid", "model.kernel_size=3", "model.layers=2",
                      "dataset.input_len=12"]))
