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
class RecipeStatusOptions:
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
class RecipeRunOptions(RecipeStatusOptions):
    until: str | None = option(None, "stop after this step", metavar="STEP")


def list_(args) -> int:
    from tinysent.apps.recipe import read_recipe, recipe_names

    for name in recipe_names():
        raw = read_recipe(name)
        steps = raw["workflows"]["all"]
        print(f"{name}: {raw.get('title', '')}")
        print(f"    steps: {' -> '.join(steps)}")
        print(f"    variables: {', '.join(f'{k}={v}' for k, v in raw.get('vars', {}).items())}")
    return 0


def status(args) -> int:
    from tinysent.apps.recipe import status as recipe_status

    rows = recipe_status(args.name, Path(args.work), args.set, reuse=[Path(d) for d in args.reuse])
    for r in rows:
        took = "" if r["seconds"] is None else f" ({r['seconds']:.0f} s last run)"
        print(f"{r['step']:<18} {r['state']:<11}{took}")
    return 0


def run(args) -> int:
    from tinysent.apps.recipe import run as recipe_run

    work = Path(args.work)
    steps = recipe_run(args.name, work, args.set, args.until, reuse=[Path(d) for d in args.reuse])
    summary = {"work": str(work), "steps": steps}
    if (work / "model").is_dir():
        summary["model"] = str(work / "model")
    print(json.dumps(summary, indent=2))
    return 0


STATUS_HELP = "each step of a recipe in a work folder: done, changed, unfinished or waiting"
RUN_HELP = "run a recipe in a work folder; finished steps whose inputs are unchanged are skipped"
COMMANDS = [
    ("list", "the recipes tinysent ships, their steps and variables", RecipeListOptions, list_),
    ("status", STATUS_HELP, RecipeStatusOptions, status),
    ("run", RUN_HELP, RecipeRunOptions, run),
]
