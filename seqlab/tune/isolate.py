"""Run a trial in a forked child process, so that what it compiles (every `tf.function`) dies with it.

In-process, each trial leaves ~10 MB of traced graphs behind that `clear_session()` does not free, and the tuner
slows down. The tuner process imports TensorFlow but never runs an op, so a fork starts each trial from the same
clean, already-imported state in milliseconds (no re-import). The child reports its result through a pipe; it
watches a second pipe to notice the tuner's death and then stops itself with SIGTERM, which makes the training
path write its checkpoint and exit.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Optional

log = logging.getLogger(__name__)


class ChildLost(RuntimeError):
    """The trial's process ended without a result (killed, e.g. by the out-of-memory killer)."""

    def __init__(self, status: int):
        self.signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        self.exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        what = (f"killed by {signal.Signals(self.signum).name}" if self.signum else f"exited with {self.exit_code}")
        hint = " (out of memory?)" if self.signum == signal.SIGKILL else ""
        super().__init__(f"the trial's process was {what}{hint} before it reported a result")


class ChildFailed(Exception):
    """The child raised: `kind` names the exception class, `message` its text, `trace` its traceback; `error_type`
    is the class itself when it can be imported in the parent (else None): test it with `raised(cls)`."""

    def __init__(self, kind: str, message: str, trace: str, error_type: Optional[type] = None):
        self.kind, self.message, self.trace, self.error_type = kind, message, trace, error_type
        super().__init__(message)

    def raised(self, cls: type) -> bool:
        """Whether the child's exception was a `cls` (or a subclass of it)."""
        return self.error_type is not None and issubclass(self.error_type, cls)


def tensorflow_initialized() -> bool:
    """Whether this process already runs TensorFlow (its runtime and thread pools exist: forking is unsafe)."""
    if "tensorflow" not in sys.modules:
        return False
    from .. import private

    return private.tensorflow_runtime_started()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except (OSError, ValueError):
            pass


def _watch_parent(fd: int, grace: float = 60.0) -> None:
    """In the child: when the parent dies (EOF on `fd`), stop like a SIGTERM would; force-exit after `grace`."""

    def watch() -> None:
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        os._exit(143)

    threading.Thread(target=watch, name="seqlab-parent-watch", daemon=True).start()


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _stop(pid: int, wait: float = 5.0) -> None:
    """After the parent was interrupted: give the child time to checkpoint, then SIGTERM, then SIGKILL."""
    for sig, seconds in ((None, wait), (signal.SIGTERM, 60.0), (signal.SIGKILL, 10.0)):
        if sig is not None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.1)


def _importable(cls: type) -> Optional[type]:
    """`cls` when the parent can unpickle it (a module-level class), else None."""
    try:
        pickle.dumps(cls)
    except Exception:  # noqa: BLE001 - a local class: the parent gets its name only
        return None
    return cls


def call(fn: Callable[[], Any], while_waiting: Optional[Callable[[], ContextManager]] = None) -> Any:
    """`fn()` in a forked child; returns its (picklable) result or raises ChildFailed / ChildLost /
    KeyboardInterrupt (the child was interrupted). `while_waiting()` is a context the parent holds meanwhile
    (entered after the fork, so that its threads are never copied into the child)."""
    _flush()  # or the child inherits (and prints again) what is still buffered
    result_r, result_w = os.pipe()
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # ------------------------------------------------------------ child
        code = 0
        try:
            os.close(result_r)
            os.close(alive_w)
            _watch_parent(alive_r)
            try:
                payload = ("ok", fn())
            except KeyboardInterrupt as e:  # SIGINT/SIGTERM: the run saved a checkpoint
                payload, code = ("interrupted", str(e), ""), 130
            except BaseException as e:
                payload = ("raised", type(e).__name__, str(e), traceback.format_exc(), _importable(type(e)))
            try:
                data = pickle.dumps(payload)
            except Exception as e:
                data = pickle.dumps(("raised", "PicklingError", f"unpicklable trial result: {e}", ""))
            view = memoryview(data)
            while view:
                view = view[os.write(result_w, view):]
        finally:
            _flush()
            os._exit(code)
    # ------------------------------------------------------------------------ parent
    os.close(result_w)
    os.close(alive_r)
    try:
        with (while_waiting or nullcontext)():
            data = _read_all(result_r)
            _, status = os.waitpid(pid, 0)
    except KeyboardInterrupt:
        _stop(pid)
        raise
    finally:
        os.close(result_r)
        os.close(alive_w)
    if not data:
        raise ChildLost(status)
    payload = pickle.loads(data)
    if payload[0] == "ok":
        return payload[1]
    if payload[0] == "interrupted":
        raise KeyboardInterrupt(payload[1])
    raise ChildFailed(*payload[1:])
