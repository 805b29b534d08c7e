"""``tinysent package``: a packed model as a pip package (:mod:`tinysent.apps.package`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.data.config import option


@dataclass
class PackageOptions:
    model: str = option(None, "a packed model folder (tinysent pack --out)", cli="required", metavar="DIR")
    name: str = option(
        None, "the package's name, which is also the model's (--model NAME)", cli="required", metavar="NAME"
    )
    out: str = option(None, "the package's folder (pip wheel DIR builds it)", cli="required", metavar="DIR")
    version: str = option("1.0.0", "the package's version")
    tier: str | None = option(
        None,
        "the model's tier, written on the packaged copy's card: fast or accurate (--model accurate picks "
        "the best accurate one); needed when the card names none",
        choices=["fast", "accurate"],
    )
    notes: str | None = option(
        None,
        "a Markdown file added to the package's README after the card's numbers: the model card's prose "
        "(how it was made, on what data, its limits)",
        metavar="FILE",
    )
    overwrite: bool = option(False, "replace an existing package folder")


HELP = (
    "a packed model as a pip package registered under the entry point group tinysent.models "
    "(`pip wheel` it; then --model NAME, and --model accurate for an accurate-tier card)"
)
Options = PackageOptions


def run(args) -> int:
    from tinysent.apps.package import module_name, write_package

    notes = Path(args.notes) if args.notes else None
    out = write_package(
        Path(args.model), args.name, Path(args.out), args.version, args.overwrite, args.tier, notes
    )
    print(json.dumps({"package": str(out), "name": args.name, "module": module_name(args.name)}))
    return 0
