"""``tinysent curve``: how the metric grows with training tweets, beside TF-IDF LR."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.apps.cli.options import options_of
from tinysent.data.config import TrainConfig, option


@dataclass
class CurveOptions(TrainConfig):
    test_data: str = option(
        None, "held-out labelled tweets to score every point on", cli="required", metavar="PATH"
    )
    split: str = option("test", "TweetEval folders: which split of --test-data", choices=("test", "val"))
    sizes: str = option("250,500,1000,all", "training sizes, comma-separated ('all': every training row)")
    epochs: float = option(3.0, "passes over each point's training tweets")
    out: str = option(
        "runs/curve", "folder for curve.json, curve.md, curve.png and the models", metavar="DIR"
    )
    quiet: bool = option(False, "no progress bar")


HELP = "learning curve on your own labelled tweets: the metric at several training sizes, beside TF-IDF LR"
EXTRA = "train"
Options = CurveOptions


def run(args) -> int:
    from tinysent.apps.curve import learning_curve
    from tinysent.core.errors import InputError

    cfg = options_of(args, TrainConfig)
    if not cfg.labelled:
        raise InputError(
            "a learning curve needs labelled data (CSV/TSV, JSONL, Parquet, a TweetEval task folder)"
        )
    try:
        sizes = [None if s.strip() == "all" else int(s) for s in args.sizes.split(",")]
    except ValueError:
        raise InputError(f"--sizes: numbers or 'all', comma-separated (got {args.sizes!r})") from None
    if any(s is not None and s < 2 for s in sizes):
        raise InputError("--sizes: each size must be at least 2")
    from tinysent.data.outputs import folder_lock

    with folder_lock(cfg.out):  # one curve at a time into one folder
        res = learning_curve(cfg, args.test_data, cfg.out, sizes, args.split, progress=not args.quiet)
    print(json.dumps({"out": cfg.out, "points": res["points"]}, indent=2))
    return 0
