"""How long a recipe's steps take, and where: ``WORK/timings.jsonl`` (one row per finished step, with
the machine) and the clock that adds up a step's running time across its attempts."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

TIMINGS = "timings.jsonl"


def last_timings(work: Path) -> dict[str, dict]:
    f = work / TIMINGS
    if not f.exists():
        return {}
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return {r["step"]: r for r in rows}


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = None
    if shutil.which("nvidia-smi"):
        r = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        gpu = r.stdout.strip() or None
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": gpu}


def clock_file(work: Path, step: str) -> Path:
    """Where :class:`StepClock` keeps a step's unfinished attempts' time."""
    return work / f".clock-{step}.json"


class StepClock:
    """A step's running time across its attempts: while it runs, the time is added up every ``tick``
    seconds in ``WORK/.clock-STEP.json``, so a step interrupted and resumed in a later session reports
    the time all its attempts ran (to within a tick per interruption). A pause of the whole process
    (SIGSTOP, a suspended laptop) counts at most two ticks. Removed when the step finishes."""

    def __init__(self, work: Path, step: str, tick: float = 30.0):
        import threading

        self.path, self.tick = clock_file(work, step), tick
        prior = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.seconds = float(prior.get("seconds", 0.0))
        self.attempts = int(prior.get("attempts", 0)) + 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _add(self) -> None:
        now = time.monotonic()
        self.seconds += min(now - self._last, 2 * self.tick)
        self._last = now
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seconds": round(self.seconds, 1), "attempts": self.attempts}))
        tmp.replace(self.path)

    def _beat(self) -> None:
        while not self._stop.wait(self.tick):
            self._add()

    def __enter__(self):
        self._last = time.monotonic()
        self._add()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._add()

    def done(self) -> None:
        self.path.unlink(missing_ok=True)
