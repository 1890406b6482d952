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
        for h in list(logging.getLogger().handlers):  # Hydra's file handler on the run's log
            if isinstance(h, logging.FileHandler):
                h.close()
                logging.getLogger().removeHandler(h)
    return Ran(code, out.getvalue(), err.getvalue())
