"""``tinysent soup``: the greedy soup of models fine-tuned from one start."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.data.config import option, output_folder


@dataclass
class SoupOptions:
    models: list[str] = option(
        default_factory=list,
        help="model folders of one task, trained from one start (two or more)",
        cli="positional",
        nargs="+",
        metavar="DIR",
    )
    out: str = option(None, "folder for the soup (a model folder) and its choice.json", cli="required")
    overwrite: bool = option(False, "replace a non-empty --out (the old one is kept until this succeeds)")


HELP = (
    "greedy soup: average the models' weights, best first on their validation split, keeping each "
    "only if the average scores no lower there"
)
EXTRA = "train"
Options = SoupOptions


def run(args) -> int:
    from tinysent.train.choose import soup

    with output_folder(args.out, args.overwrite):
        result = soup([Path(m) for m in args.models], Path(args.out))
    print(json.dumps({"out": args.out, **result}, indent=2))
    return 0
