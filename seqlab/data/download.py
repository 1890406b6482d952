"""Finding dataset files (data_dir, then the cache, else a checksummed download) and reading them safely."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import List, Optional, Sequence, Union

import pandas as pd

from ..config import ConfigError, config_error

log = logging.getLogger(__name__)
PathLike = Union[str, Path]
_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A downloaded file's sha256 differs from the expected one (the file has been deleted)."""


def cache_dir(override: Optional[PathLike] = None) -> Path:
    """Where downloads go: `override`, else $SEQLAB_CACHE_DIR, else platformdirs' user cache for seqlab."""
    if override is None:
        override = os.environ.get("SEQLAB_CACHE_DIR")
    if override is None:
        import platformdirs

        override = platformdirs.user_cache_dir("seqlab")
    return Path(override).expanduser()


def search_dirs(data_dir: Optional[PathLike] = None, cache: Optional[PathLike] = None) -> list:
    """The folders looked in, in order: data_dir (else $SEQLAB_DATA_DIR), then the cache."""
    data_dir = data_dir if data_dir is not None else os.environ.get("SEQLAB_DATA_DIR")
    dirs = [Path(data_dir).expanduser()] if data_dir else []
    return dirs + [cache_dir(cache)]


def find(names: Sequence[str], data_dir: Optional[PathLike] = None,
         cache: Optional[PathLike] = None) -> Optional[Path]:
    """The first existing file among `names` in data_dir, then in the cache; None when there is none."""
    for folder in search_dirs(data_dir, cache):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def fetch(filename: str, url: str, sha256: str, data_dir: Optional[PathLike] = None,
          cache: Optional[PathLike] = None) -> Path:
    """Path to `filename`: found in data_dir or the cache, else downloaded from `url` into the cache.

    A download is streamed to a temporary file, checked against `sha256` and only then moved into place
    with os.replace, so an interrupted or corrupt download never looks like a finished one.
    """
    found = find([filename], data_dir, cache)
    if found is not None:
        return found
    target = cache_dir(cache) / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s -> %s", url, target)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, _open(url, filename, data_dir, cache) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done, next_log = 0, 5
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if total and 100 * done / total >= next_log:
                    log.info("%s: %d%% of %.1f MB", filename, 100 * done // total, total / 1e6)
                    next_log = 100 * done // total + 5
        received = digest.hexdigest()
        if sha256 and received.lower() != sha256.lower():
            raise ChecksumError(f"sha256 mismatch for {url}: expected {sha256}, received {received}; "
                                f"the download was deleted")
        os.replace(tmp, target)
    except BaseException:
        # never leave a partial file behind, whatever went wrong (including Ctrl-C)
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("saved %s (sha256 %s)", target, received)
    return target


def _open(url: str, filename: str, data_dir: Optional[PathLike], cache: Optional[PathLike]):
    """urlopen, or (offline, blocked, server down) a ConfigError that says which file to place where."""
    try:
        return urllib.request.urlopen(url, timeout=60)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        places = " or ".join(str(d) for d in search_dirs(data_dir, cache))
        raise ConfigError(f"dataset.url: could not download {filename} from {url} ({reason}). Offline? Place "
                          f"{filename} (or its .gz) in {places}, or set SEQLAB_DATA_DIR=/folder/holding/it "
                          "(data_dir=... on the command line)") from None


def verify(path: Path, sha256: str) -> None:
    """Check a local copy against the sha256 of its (uncompressed) content; a .gz is hashed decompressed.

    This catches truncated files and mix-ups such as the historical ETTh1/ETTm1 swap.
    """
    import gzip

    if not sha256:
        return
    digest = hashlib.sha256()
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise ChecksumError(f"{path}: unreadable ({exc}); delete it to download a fresh copy") from None
    received = digest.hexdigest()
    if received.lower() != sha256.lower():
        raise ChecksumError(f"{path}: content sha256 mismatch: expected {sha256}, received {received}; "
                            f"delete it to download a fresh copy")


def local_path(path: Optional[str], key: str, data_dir: Optional[PathLike] = None) -> Path:
    """An existing file named by config key `key`; a relative path not found as given is tried in data_dir."""
    if not path or path == "???":
        raise config_error(key, "a file path", path)
    p = Path(path).expanduser()
    if not p.exists() and not p.is_absolute() and data_dir:
        candidate = Path(data_dir).expanduser() / p
        if candidate.exists():
            p = candidate
    if not p.is_file():
        near = _similar(p, data_dir)
        where = f" (relative paths are also looked up in data_dir={data_dir})" if data_dir and not p.is_absolute() \
            else ""
        raise config_error(key, "an existing file" + where + (f"; similar files: {', '.join(near)}" if near else ""),
                           str(p))
    return p


def _similar(p: Path, data_dir: Optional[PathLike]) -> List[str]:
    """Files beside where `p` was looked for whose names are close to its name (ETTh1.csv -> ETTh1.csv.gz)."""
    import difflib

    found = []
    for folder in [p.parent] + ([Path(data_dir).expanduser() / p.parent] if data_dir and not p.is_absolute() else []):
        try:
            names = [f.name for f in folder.iterdir() if f.is_file()]
        except OSError:
            continue
        close = [n for n in names if n.startswith(p.name) or p.name.startswith(n)]
        close += difflib.get_close_matches(p.name, names, n=3, cutoff=0.75)
        found += [str(folder / n) for n in dict.fromkeys(close)]
    return found[:5]


def read_csv(path: Path, key: str, **kwargs) -> pd.DataFrame:
    """pandas.read_csv (plain or .gz) that turns an unreadable or empty file into a ConfigError naming `key`."""
    if not path.is_file():
        raise config_error(key, "an existing CSV file", str(path))
    try:
        frame = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise config_error(key, "a non-empty CSV file", str(path)) from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise config_error(key, "a readable CSV file (plain or .gz)", f"{path}: {exc}") from None
    if len(frame) == 0:
        raise config_error(key, "a CSV file with at least one data row", f"{path} (header only)")
    return frame
