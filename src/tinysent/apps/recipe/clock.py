"""How long a recipe's steps take, and where: ``WORK/timings.jsonl`` (one row per finished step, with
the machine) and the clock that adds up a step's running time across its attempts."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tinysent.core.machine import describe, machine  # noqa: F401 (the recipe timings record it)

TIMINGS = "timings.jsonl"


def recorded_timings(recipe: str) -> dict[str, dict]:
    """The shipped record of a recipe's step times from nothing (``recipes/timings.json``, compiled by
    ``scripts/recipe_timings.py`` from the runs kept in results/): step -> seconds, machine, date."""
    return _recorded(recipe).get("steps", {})


def recorded_about(recipe: str) -> str | None:
    """What the recorded run read, for a recipe whose time depends on the user's data (own-task)."""
    return _recorded(recipe).get("about")


def _recorded(recipe: str) -> dict:
    from tinysent.apps.recipe.files import recipes_dir

    f = recipes_dir() / "timings.json"
    table = json.loads(f.read_text()) if f.is_file() else {}
    return table.get(Path(recipe).stem, {})


def duration(seconds: float) -> str:
    """``~4 h 26 min``, ``~9 min``, ``~40 s``."""
    if seconds >= 3600:
        return f"~{int(seconds // 3600)} h {round(seconds % 3600 / 60):d} min"
    return f"~{round(seconds / 60):d} min" if seconds >= 90 else f"~{round(seconds):d} s"


def expected(recipe: str, work: Path, step: str) -> str:
    """A step's expected time: its last run in this work folder (this machine, if it has not moved),
    else the shipped record's, with where and when that was measured; or that none is recorded."""
    here = last_timings(work).get(step)
    if here is not None and "reused_from" not in here:
        return f"expected {duration(here['seconds'])}: its last run in this folder"
    rec = recorded_timings(recipe).get(step)
    if rec is None:
        return "no recorded time for this step yet"
    about = recorded_about(recipe)
    on = f" on {about}" if about else ""
    return f"expected {duration(rec['seconds'])}: {describe(rec)}, {rec['date']}{on}"


def last_timings(work: Path) -> dict[str, dict]:
    f = work / TIMINGS
    if not f.exists():
        return {}
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return {r["step"]: r for r in rows}


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
