"""Recipes: how a model is made, as data. A recipe is a weasel project file (spaCy's project system,
:mod:`weasel`): named steps, each a ``tinysent`` command with the files it reads (``deps``) and
writes (``outputs``), and one workflow that lists them in order. Weasel hashes a step's command, its
inputs and its outputs into ``project.lock`` when the step finishes; the runner here skips a step
whose hashes still match, reruns one whose command or inputs changed (its outputs removed first: it
starts over), and lets a step that never finished (an interrupted run) continue: training steps pass
``--resume``, which picks up their last checkpoint.

The recipes shipped with tinysent are ``src/tinysent/recipes/NAME.yml``; ``tinysent recipe run`` also
takes a path to a file of the same format (your own recipe). Every run records each step's wall time
and the machine in ``WORK/timings.jsonl``.

Two recipes often share steps (the accurate model's recipe starts with the same two teachers as the
shipped model's). ``--reuse OTHER_WORK`` lets a run take a step from another work folder instead of
running it, when that folder finished the same step: the same script, inputs of the same hashes, and
outputs still as it recorded them (DVC's run cache, across work folders). The outputs are copied, the
step is recorded as done here, and its timings row names where it came from and how long it took there.
"""

from tinysent.apps.recipe.clock import TIMINGS, StepClock, last_timings, machine
from tinysent.apps.recipe.files import (
    PROJECT,
    WORKFLOW,
    overrides_of,
    prepare_work,
    read_recipe,
    recipe_file,
    recipe_names,
    recipes_dir,
)
from tinysent.apps.recipe.runner import StepFailed, reusable, run, status, step_state

__all__ = [
    "PROJECT",
    "TIMINGS",
    "WORKFLOW",
    "StepClock",
    "StepFailed",
    "last_timings",
    "machine",
    "overrides_of",
    "prepare_work",
    "read_recipe",
    "recipe_file",
    "recipe_names",
    "recipes_dir",
    "reusable",
    "run",
    "status",
    "step_state",
]
