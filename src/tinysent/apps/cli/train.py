"""``tinysent train``: fine-tune a base model."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.apps.cli.options import options_of
from tinysent.data.config import TrainConfig, option, output_folder


@dataclass
class TrainOptions(TrainConfig):
    seeds: int = option(1, "train this many models (seeds S..S+N-1) into OUT/seed-S and summarise them")
    quiet: bool = option(False, "no progress bar")


HELP = (
    "fine-tune a base model (preset, folder or hub id) on Sentiment140, the 3-class mix or your own "
    "labelled tweets"
)
EXTRA = "train"
Options = TrainOptions


def train_argv(argv: list[str]) -> int:
    """``tinysent train ARGV`` from inside the package (the labelling page's rounds and export): the
    same options and checks, parsed by the train command's own parser, without calling the CLI."""
    import argparse

    from tinysent.apps.cli.options import add_config_args

    parser = argparse.ArgumentParser(prog="tinysent train", allow_abbrev=False)
    add_config_args(parser, TrainOptions)
    return run(parser.parse_args(argv))


def run(args) -> int:
    from tinysent.train.finetune import train, train_seeds

    cfg = options_of(args, TrainConfig)
    with output_folder(cfg.out, cfg.overwrite, cfg.resume):
        if args.seeds <= 1:
            summary = {"out": cfg.out, **train(cfg, progress=not args.quiet)}
        else:
            summary = train_seeds(cfg, args.seeds, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0
