"""conv1d: a stack of (dilated, causal) 1-D convolutions with global pooling; schema, builder, checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from ..config.schema import POOLINGS, SequenceModelConfig, one_of
from ..registry import REGISTRIES
from .build import check_sequence_model


@dataclass
class Conv1DConfig(SequenceModelConfig):
    filters: int = 32  # filters per convolution layer
    kernel_size: int = 5  # kernel width (time steps)
    padding: str = one_of("causal", ("causal", "same", "valid"))  # keras Conv1D padding; causal: no look-ahead
    dilated: bool = True  # dilation 2**i in layer i
    # 3 dilated layers see 1 + (kernel_size - 1) * 7 steps; one layer (5 steps) plateaued on the default data
    layers: int = 3
    pooling: str = one_of("average", POOLINGS)
    # FCN's block (Wang et al. 2017): convolution, batch normalisation, then ReLU. Batch statistics in training,
    # the moving averages in inference (evaluate, predict, export), so a series' prediction is its own
    batch_norm: bool = False
    # one value per layer instead of the same for all (null: model.filters / model.kernel_size everywhere). FCN
    # (Wang et al. 2017): filters_per_layer=[128,256,128] kernel_size_per_layer=[8,5,3]
    filters_per_layer: Optional[List[int]] = None
    kernel_size_per_layer: Optional[List[int]] = None  # one kernel width per layer (null: model.kernel_size everywhere)


def per_layer(model_cfg, key: str, i: int) -> int:
    """Layer i's value of `key` (filters / kernel_size): its entry in `<key>_per_layer` when that is set."""
    values = model_cfg[f"{key}_per_layer"]
    return int(values[i]) if values else int(model_cfg[key])


def backbone(model_cfg, reg_cfg, x):
    """(batch, time, channels) -> (batch, filters)."""
    import keras

    from .blocks import l2, pool

    for i in range(model_cfg.layers):
        _fits(model_cfg, i, x.shape[1])
        norm = model_cfg.batch_norm
        x = keras.layers.Conv1D(
            per_layer(model_cfg, "filters", i),
            per_layer(model_cfg, "kernel_size", i),
            padding=model_cfg.padding,
            dilation_rate=2**i if model_cfg.dilated else 1,
            activation=None if norm else "relu",
            use_bias=not norm,  # the normalisation's offset replaces the bias
            kernel_regularizer=l2(reg_cfg),
            name=f"conv1d_{i}",
        )(x)
        if norm:
            # synchronized: under tf.distribute the replicas normalise by the global batch's statistics, as one
            # device would (a no-op without a strategy)
            x = keras.layers.BatchNormalization(synchronized=True, name=f"batch_norm_{i}")(x)
            x = keras.layers.ReLU(name=f"relu_{i}")(x)
        if reg_cfg.dropout:
            x = keras.layers.SpatialDropout1D(reg_cfg.dropout, name=f"spatial_dropout_{i}")(x)
    return pool(x, model_cfg.pooling)


def _fits(model_cfg, i: int, steps) -> None:
    """With padding=valid each layer shortens the series by (kernel_size - 1) x dilation: it must leave a step."""
    if model_cfg.padding != "valid" or steps is None:
        return
    from ..config import config_error

    dilation = 2**i if model_cfg.dilated else 1
    kernel = per_layer(model_cfg, "kernel_size", i)
    if (kernel - 1) * dilation >= steps:
        key = "model.kernel_size_per_layer" if model_cfg.kernel_size_per_layer else "model.kernel_size"
        raise config_error(key, f"a kernel that fits the {steps} steps reaching conv1d layer {i} "
                           f"(padding=valid, dilation {dilation}: (kernel_size - 1) x dilation < {steps}; or "
                           "model.padding=causal, fewer model.layers, a longer dataset.input_len)", kernel)


def build(model_cfg, reg_cfg, spec):
    """The keras.Model (uncompiled); a convolution cannot use a padding mask."""
    from .blocks import assemble

    return assemble(model_cfg, reg_cfg, spec, backbone, masks_padding=False)


def _swept_keys(cfg) -> set:
    """The dotted keys a sweep's space names (written dotted or nested)."""
    from omegaconf import OmegaConf

    from ..config.flat import flatten

    space = cfg.sweep.space
    if not space:
        return set()
    container = OmegaConf.to_container(space, resolve=True)
    return {k for k in container if "." in k} | {".".join(k.split(".")[:2]) for k in flatten(container)}


def check(cfg) -> None:
    from ..config.checks import check as require
    from ..config.checks import positive

    check_sequence_model(cfg)
    positive(cfg.model, "model", "filters", "kernel_size")
    m = cfg.model
    for key in ("filters_per_layer", "kernel_size_per_layer"):
        values = m[key]
        if values is None:
            continue
        require(len(values) == m.layers and all(v > 0 for v in values), f"model.{key}",
                f"one positive integer per layer (model.layers={m.layers})", list(values))
        plain = f"model.{key[:-len('_per_layer')]}"
        require(plain not in _swept_keys(cfg), "sweep.space", f"no {plain} with model.{key} set (the per-layer "
                "list takes precedence, so the sweep would change nothing)", plain)
    # padding=valid: a kernel longer than the steps reaching its layer, refused before TensorFlow loads where the
    # config fixes the length (windows, texts); the build checks again with the data's own length (series files)
    ds = cfg.dataset
    # .get: windows have input_len, texts sequence_length, series files neither (their length comes with the data)
    steps = ds.get("input_len") or ds.get("sequence_length")
    if steps and ds.get("input_len") and m.patch:
        steps //= int(m.patch)
    for i in range(m.layers):
        _fits(m, i, steps)
        if steps:
            steps -= (per_layer(m, "kernel_size", i) - 1) * (2**i if m.dilated else 1)


for _name in ("conv1d", "fcn"):  # fcn: the same model with FCN's settings in conf/model/fcn.yaml
    REGISTRIES["model"].add(_name, Conv1DConfig, target="seqlab.models.conv1d:build", check=check, schema_name="conv1d",
                            capabilities={"pooling", "window_options", "adversarial", "quantiles"})
