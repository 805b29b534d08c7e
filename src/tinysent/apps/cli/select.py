"""``tinysent select``: the best of several models on their shared validation split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.data.config import option, output_folder


@dataclass
class ChoiceOptions:
    """What `select` and `soup` share: candidate model folders, the folder the choice goes to."""

    models: list[str] = option(
        default_factory=list,
        help="model folders of one task, validated on one split (soup: trained from one start)",
        cli="positional",
        nargs="+",
        metavar="DIR",
    )
    out: str = option(None, "folder for the chosen model and its choice.json (every score)", cli="required")
    overwrite: bool = option(False, "replace a non-empty --out (the old one is kept until this succeeds)")


SelectOptions = ChoiceOptions


HELP = (
    "the model that scores highest on the validation split the models' runs selected on (never a test "
    "set), copied to --out with every candidate's score"
)
EXTRA = "train"
Options = SelectOptions


def run_choice(choose, args) -> int:
    """``choose(folders, out)`` into a guarded output folder (one writer, the old one kept until it
    succeeds), then its summary as JSON."""
    with output_folder(args.out, args.overwrite):
        result = choose([Path(m) for m in args.models], Path(args.out))
    print(json.dumps({"out": args.out, **result}, indent=2))
    return 0


def run(args) -> int:
    from tinysent.train.choose import select

    return run_choice(select, args)
