"""Where `seqlab predict` and `seqlab export` may write: checked before any work, never over the input, a run's
own files or an earlier output (unless --overwrite), and always through a temporary file renamed into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ..config import config_error

RUN_FILES = ("model.keras", "metrics.json", "history.csv", "inference.json", "vocabulary.txt", "examples.npz",
             "config.yaml", "cli.log", ".lock", "report.csv", "report.md")  # what a run folder holds (or will)
OWN_OUTPUTS = "export"  # a run directory's folder for its exports: the one place inside a run seqlab writes to


def default_name(input_path: Path, suffix: str) -> Path:
    """`sales.2024.csv` -> `sales.2024<suffix>` in the current directory (only the last extension is replaced;
    `x.csv.gz` -> `x<suffix>`)."""
    name = input_path.name
    for ext in (".gz", ".bz2", ".xz", ".zip"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    stem = Path(name).stem if Path(name).suffix else name
    return Path(stem + suffix)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_output(path, flag: str, *, inputs: Iterable[Path] = (), run_dir: Optional[Path] = None,
                 overwrite: bool = False, directory: bool = False) -> Path:
    """`path` if seqlab may write it, else a ConfigError naming `flag`: not a directory (unless `directory`),
    in an existing writable folder, not one of `inputs`, not a file of `run_dir` (its export/ folder excepted),
    not an existing file unless `overwrite`."""
    text = str(path)
    path = Path(path)
    target = path.resolve()
    if text.endswith(os.sep) or not directory and (path.name in ("", ".", "..") or path.is_dir()):
        raise config_error(flag, "a file name", f"{text} (a directory)")
    for source in inputs:
        if target == Path(source).resolve():
            raise config_error(flag, "a path other than the input", f"{text} (the input itself); choose another "
                               f"{flag}")
    if run_dir is not None:
        run = Path(run_dir).resolve()
        own = target == run or target.exists() or target.name in RUN_FILES or target.parent != run
        if _inside(target, run) and not _inside(target, run / OWN_OUTPUTS) and own:
            raise config_error(flag, f"a path that is not one of the run's files (a new name, or its "
                               f"{OWN_OUTPUTS}/ folder)",
                               f"{text} (in {run_dir}: it would replace the run's own files)")
    parent = target.parent
    if not parent.is_dir():
        raise config_error(flag, "a path in an existing folder", f"{text} ({parent} is not a folder)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise config_error(flag, "a path in a folder you may write to", f"{text} ({parent} is not writable)")
    if path.exists() and not overwrite:
        raise config_error(flag, "a new file (pass --overwrite to replace it)", f"{text} exists")
    return path


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` (file or folder) to write; renamed to `path` when the block succeeds, removed
    when it fails, so a failed export or predict leaves nothing behind and never half of a file."""
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)) / path.name
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # --overwrite of an earlier SavedModel folder
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def write_error(e: OSError, path: Path) -> str:
    """One line for a file operation that failed anyway (a full disk, a folder that turned read-only)."""
    return f"error: {e.filename or path}: {e.strerror or e}"
