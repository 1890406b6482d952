"""The end of a Hydra multirun (`python -m seqlab -m model=lstm,gru seed=0,1,2`): the comparison of its runs.

A Hydra callback (conf/config.yaml hydra.callbacks.compare): the runs are grouped by the keys the multirun's
overrides vary, seed excluded, and `seqlab compare` prints and writes its report into the sweep folder.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Sequence

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from .config import GROUPS, ConfigError

log = logging.getLogger(__name__)
NOT_GROUPING = ("seed", "hydra.", "sweep.")


def varying_keys(overrides: Sequence[str]) -> List[str]:
    """The config keys a multirun's sweep overrides vary (`model=a,b` -> model.name), seed excluded."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    keys = []
    for o in OverridesParser.create().parse_overrides(list(overrides)):
        if not o.is_sweep_override():
            continue
        key = o.key_or_group.lstrip("+~")
        if key.startswith(NOT_GROUPING) or key == "seed":
            continue
        keys.append(f"{key}.name" if key in GROUPS else key)
    return keys


class CompareAtEnd(Callback):
    """Prints `seqlab compare SWEEP_DIR --by <varying keys>` when a multirun that varies something ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        overrides = list(OmegaConf.select(config, "hydra.overrides.task") or [])
        by = varying_keys(overrides)
        if not by:
            return
        root = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
        from .compare import run_compare

        try:
            text = run_compare(root, by)
        except ConfigError as e:
            print(f"\ncomparison by {', '.join(by)}: not possible: {e}")
            return
        except Exception as e:  # noqa: BLE001 - the runs are done and saved: a report problem must not hide that
            log.exception("comparison of %s failed", root)
            print(f"\ncomparison by {', '.join(by)} failed: {type(e).__name__}: {e}")
            return
        print(f"\ncomparison of the multirun in {root} by {', '.join(by)} (seqlab compare {root} "
              + " ".join(f"--by {k}" for k in by) + f"):{text}")
