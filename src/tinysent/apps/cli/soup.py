"""``tinysent soup``: the greedy soup of models fine-tuned from one start."""

from __future__ import annotations

from tinysent.apps.cli.select import ChoiceOptions, run_choice

HELP = (
    "greedy soup: average the models' weights, best first on their validation split, keeping each "
    "only if the average scores no lower there"
)
EXTRA = "train"
Options = ChoiceOptions


def run(args) -> int:
    from tinysent.train.choose import soup

    return run_choice(soup, args)
