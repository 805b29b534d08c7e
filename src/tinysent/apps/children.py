"""Child processes the commands start (a recipe's step, the labelling page's trainers): each in a
process group of its own, stopped with all of its own children and waited for, so a stopped command
leaves nothing running behind it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time


def stop_all(procs, grace_s: float = 30.0) -> None:
    """SIGTERM to each running process's group (each was started with ``start_new_session=True``),
    then wait ``grace_s`` for them all (a tinysent command puts back what it was replacing); SIGKILL
    to the groups of those still running."""
    running = [p for p in procs if p.poll() is None]
    for p in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in running:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def run_stoppable(argv: list[str], **kw) -> int:
    """``subprocess.run(argv).returncode``, the child in a process group of its own; when this process
    is interrupted (Ctrl-C, SIGTERM raised as an exception) the child's group is stopped and waited
    for before the interruption goes on."""
    proc = subprocess.Popen(argv, start_new_session=True, **kw)
    try:
        return proc.wait()
    except BaseException:
        stop_all([proc])
        raise
