"""``tinysent recipe list|status|run``: how a model is made, as data (:mod:`tinysent.apps.recipe`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.data.config import option

HELP = "list, inspect or run the recipes that make models (steps skipped when their inputs are unchanged)"
EXTRA = "recipes"


@dataclass
class RecipeListOptions:
    pass


@dataclass
class RecipeWorkOptions:
    name: str = option(None, "recipe name (tinysent recipe list) or a recipe .yml file", cli="positional")
    work: str = option(None, "the recipe's work folder", cli="required", metavar="DIR")
    set: list[str] = option(
        default_factory=list,
        help="a recipe variable, KEY=VALUE (repeatable)",
        cli="append",
        metavar="KEY=VALUE",
    )
    reuse: list[str] = option(
        default_factory=list,
        help="another recipe's work folder: a step it finished with the same script and inputs is copied "
        "from there instead of run (repeatable)",
        cli="append",
        metavar="DIR",
    )


@dataclass
class RecipeStatusOptions(RecipeWorkOptions):
    markdown: bool = option(
        False,
        "a Markdown table of each step's wall time (every attempt's), attempts and machine, with the total "
        "(for a results/ page)",
    )


@dataclass
class RecipeRunOptions(RecipeWorkOptions):
    until: str | None = option(None, "stop after this step", metavar="STEP")


def list_(args) -> int:
    from tinysent.apps.recipe import read_recipe, recipe_names

    for name in recipe_names():
        raw = read_recipe(name)
        steps = raw["workflows"]["all"]
        title = raw.get("title", "")
        print(title if title.startswith(f"{name}:") else f"{name}: {title}")  # a title names its recipe
        print(f"    steps: {' -> '.join(steps)}")
        print(f"    variables: {', '.join(f'{k}={v}' for k, v in raw.get('vars', {}).items())}")
        print(f"    time from nothing: {time_from_nothing(name, steps)}")
    return 0


def time_from_nothing(name: str, steps: list[str]) -> str:
    """The recipe's recorded wall time from nothing (recipes/timings.json), with its machine and date."""
    from tinysent.apps.recipe.clock import duration, recorded_about, recorded_timings
    from tinysent.core.machine import describe

    rec, about = recorded_timings(name), recorded_about(name)
    if not rec:
        return "not recorded yet"
    known = [rec[s] for s in steps if s in rec]
    where = sorted({describe(r) for r in known})
    dates = sorted({r["date"] for r in known})
    missing = [s for s in steps if s not in rec]
    return (
        f"{duration(sum(r['seconds'] for r in known))} ({'; '.join(where)}, {dates[0]}"
        + (f" to {dates[-1]}" if dates[-1] != dates[0] else "")
        + ")"
        + (f"; not recorded: {', '.join(missing)}" if missing else "")
        + (f"; measured on {about}: more rows take longer" if about else "")
    )


def status(args) -> int:
    from tinysent.apps.recipe import status as recipe_status
    from tinysent.apps.recipe.runner import missing_note

    rows = recipe_status(args.name, Path(args.work), args.set, reuse=[Path(d) for d in args.reuse])
    if args.markdown:
        print(timings_table(rows))
        return 0
    for r in rows:
        took = ""
        if r["seconds"] is not None:
            took = f" ({r['seconds']:.0f} s last run)"
        elif r.get("so_far"):
            took = f" ({r['so_far']:.0f} s so far, {r['attempts']} attempt(s))"
        if r.get("missing"):
            took = f" {missing_note(r['missing'])}"
        print(f"{r['step']:<18} {r['state']:<11}{took}")
    return 0


def _hms(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def timings_table(rows: list[dict]) -> str:
    """Each step's wall time as Markdown: where it ran, over how many attempts (an interrupted step's
    attempts add up), a reused step's time where it ran; the total of what has run."""
    out = [
        "| step | state | wall time | attempts | machine | finished |",
        "|---|---|---|---|---|---|",
    ]
    total = 0.0
    for r in rows:
        where = r
        seconds = r["seconds"]
        note = ""
        if r.get("reused_from"):
            where, seconds = r.get("ran_there", {}), r.get("ran_there", {}).get("seconds")
            note = f" (ran in {r['reused_from']}; copied in {r['seconds']:.0f} s)"
        elif seconds is None and r.get("so_far"):
            seconds, note = r["so_far"], " so far"
        total += seconds or 0.0
        took = "" if seconds is None else _hms(seconds) + note
        box = ""
        if where.get("cpu"):
            gpu = f", {where['gpu']}" if where.get("gpu") else ""
            box = f"{where['cpu']}, {where['cores']} cores{gpu}"
        when = (where.get("finished") or "").replace("T", " ").replace("Z", " UTC")
        out.append(f"| {r['step']} | {r['state']} | {took} | {r.get('attempts') or ''} | {box} | {when} |")
    out.append(f"| total | | {_hms(total)} | | | |")
    return "\n".join(out)


def run(args) -> int:
    from tinysent.apps.recipe import run as recipe_run

    work = Path(args.work)
    steps = recipe_run(args.name, work, args.set, args.until, reuse=[Path(d) for d in args.reuse])
    summary = {"work": str(work), "steps": steps}
    if (work / "model").is_dir():
        summary["model"] = str(work / "model")
    print(json.dumps(summary, indent=2))
    return 0


STATUS_HELP = "each step of a recipe in a work folder: done, changed, unfinished, waiting or missing an input"
RUN_HELP = "run a recipe in a work folder; finished steps whose inputs are unchanged are skipped"
COMMANDS = [
    ("list", "the recipes tinysent ships, their steps and variables", RecipeListOptions, list_),
    ("status", STATUS_HELP, RecipeStatusOptions, status),
    ("run", RUN_HELP, RecipeRunOptions, run),
]
