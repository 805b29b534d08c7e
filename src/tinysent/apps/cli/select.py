"""``tinysent select``: the best of several models on their shared validation split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.data.config import option, output_folder


@dataclass
class SelectOptions:
    models: list[str] = option(
        default_factory=list,
        help="model folders of one task (one validation split)",
        cli="positional",
        nargs="+",
        metavar="DIR",
    )
    out: str = option(
        None,
        "folder for a copy of the chosen model (no checkpoint or teacher outputs) and its choice.json",
        cli="required",
    )
    overwrite: bool = option(False, "replace a non-empty --out (the old one is kept until this succeeds)")


HELP = (
    "the model that scores highest on the validation split the models' runs selected on (never a test "
    "set), copied to --out with every candidate's score"
)
EXTRA = "train"
Options = SelectOptions


def run(args) -> int:
    from tinysent.train.choose import select

    with output_folder(args.out, args.overwrite):
        result = select([Path(m) for m in args.models], Path(args.out))
    print(json.dumps({"out": args.out, **result}, indent=2))
    return 0
