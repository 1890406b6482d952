"""Run the seqlab CLI inside the test process (TensorFlow imported once): `seqlab_main(*args)`."""

import contextlib
import io
import os
from typing import NamedTuple


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def seqlab_main(*args: str, cwd=None) -> Ran:
    """`python -m seqlab ARGS` in this process: its exit code and what it printed. Releases the run directory's
    lock afterwards, as the end of a process would."""
    import logging
    import signal

    from seqlab import cli, rundir

    out, err = io.StringIO(), io.StringIO()
    code, here, handler = 0, os.getcwd(), signal.getsignal(signal.SIGINT)
    # Hydra's logging set-up closes every handler: absl's (TensorFlow's) closes its stream unless it is sys.stderr
    # at that moment, here pytest's capture: it writes to the real stderr instead. Root's handlers are set aside
    # and put back, as a new process would have them.
    _absl_to_real_stderr()
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    for h in saved:
        root.removeHandler(h)
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main(list(args))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        os.chdir(here)
        signal.signal(signal.SIGINT, handler)
        rundir.release()
        for h in root.handlers[:]:  # Hydra's: the console (this call's StringIO) and the run's log file
            root.removeHandler(h)
            h.close()
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)
        _absl_to_real_stderr()
    return Ran(code, out.getvalue(), err.getvalue())


def _absl_to_real_stderr() -> None:
    import sys

    absl = sys.modules.get("absl.logging")
    if absl is not None:
        absl.get_absl_handler().python_handler.stream = sys.__stderr__
