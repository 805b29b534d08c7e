"""``tinysent distill``: TinyBERT task distillation into a small student."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.apps.cli.options import options_of
from tinysent.data.config import option, output_folder


def options():
    """The distillation config plus the CLI's own options (built on use: the config module is light,
    but keeping it out of the parser's import keeps `tinysent predict` fast)."""
    from tinysent.train.distill.config import DistillConfig

    @dataclass
    class DistillOptions(DistillConfig):
        teacher: str = option(None, "fine-tuned teacher model folder", cli="required", metavar="DIR")
        quiet: bool = option(False, "no progress bar")

    return DistillOptions


HELP = "TinyBERT task distillation from a fine-tuned teacher into a small student"
EXTRA = "train"
Options = options()


def run(args) -> int:
    from tinysent.train.distill import DistillConfig, distill

    cfg = options_of(args, DistillConfig)
    with output_folder(cfg.out, cfg.overwrite, cfg.resume):
        summary = distill(cfg, progress=not args.quiet)
    print(json.dumps({"out": cfg.out, **summary}, indent=2))
    return 0
