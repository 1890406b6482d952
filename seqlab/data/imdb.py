"""The IMDB reviews straight from the aclImdb tarball (the text datasets read them through data/text.py)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pandas as pd

from ..config import config_error

IMDB_TARBALL = "aclImdb_v1.tar.gz"
_IMDB_MEMBER = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_\d+\.txt$")


def read_imdb_tarball(path: Path) -> pd.DataFrame:
    """The labelled train/test reviews straight from aclImdb_v1.tar.gz (columns text, label, split)."""
    rows = []
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                match = _IMDB_MEMBER.search(member.name) if member.isfile() else None
                if match:
                    text = tar.extractfile(member).read().decode("utf-8")
                    rows.append((match[1], int(match[2] == "pos"), int(match[3]), text))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise config_error("dataset.url", "a readable aclImdb tarball", f"{path}: {exc}") from None
    if not rows:
        raise config_error("dataset.url", "a tarball with aclImdb/{train,test}/{pos,neg}/*.txt reviews", str(path))
    # the order of the shared CSV: train before test, neg before pos, by review id
    rows.sort(key=lambda r: (r[0] != "train", r[1], r[2]))
    return pd.DataFrame([(t, lab, s) for s, lab, _, t in rows], columns=["text", "label", "split"])
