"""Stopping a run at a step boundary on SIGINT or SIGTERM (Ctrl-C, `kill`, a scheduler's preemption).

The first signal only raises a flag: the trainer finishes the step it is in, checkpoints and returns, so
the run continues bit-identically with `--resume`. A second signal is impatience: it raises
KeyboardInterrupt at once, and the run resumes from its last regular checkpoint instead.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The exit codes of a command that one of SIGNALS stopped (shell convention: 128 + the signal number).
INTERRUPT_CODES = frozenset(128 + int(sig) for sig in SIGNALS)


class Terminated(KeyboardInterrupt):
    """SIGTERM raised as an exception, so that `except KeyboardInterrupt` cleanup covers both signals
    and the CLI can still tell them apart (exit 143, not 130)."""


def raise_signal(signum: int, frame: FrameType | None = None) -> None:
    """A handler that turns SIGINT into KeyboardInterrupt and SIGTERM into Terminated."""
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated` as SIGINT raises KeyboardInterrupt: a command
    outside training then unwinds through its cleanup and exits without a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Interrupted(Exception):
    """A run stopped on a signal after checkpointing; the CLI exits with 128 + `signum`."""

    def __init__(self, signum: int, step: int):
        super().__init__(f"stopped by {signal.Signals(signum).name} after step {step}")
        self.signum, self.step = signum, step

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def stop_flag() -> Iterator[list[int]]:
    """A list that receives the number of the first SIGINT/SIGTERM while the block runs (empty while none
    came). Outside the main thread, where Python cannot install handlers, nothing is caught."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            raise_signal(signum)
        received.append(signum)
        print(f"\n{signal.Signals(signum).name}: stopping after this step and checkpointing "
              "(again to stop at once)", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
