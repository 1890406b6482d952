"""SIGINT / SIGTERM while training: raised as Interrupted, and remembered so that native code cannot swallow them."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator, List

from .errors import Interrupted

_received: List[List[int]] = []  # per active interrupts_raise(): the signals received in it


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """While training, SIGINT and SIGTERM raise Interrupted so the run can save a checkpoint and exit.

    The signal is also remembered: Python runs the handler at the next bytecode, which may lie in code called back
    from native code (TensorFlow, a C extension) that drops the exception. `raise_if_interrupted` (at every batch
    end, `Checkpointer`) and the end of this block raise it again, so a received signal never just vanishes."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. not inside a worker)
        return
    received: List[int] = []

    def handler(signum, frame):
        received.append(signum)
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    _received.append(received)
    try:
        yield
        raise_if_interrupted()
    finally:
        _received.remove(received)
        for s, h in previous.items():
            signal.signal(s, h)


def raise_if_interrupted() -> None:
    """Raise Interrupted for a signal received while training whose first Interrupted was dropped on the way."""
    if _received and _received[-1]:
        raise Interrupted(_received[-1][0])
