"""``tinysent compare``: two evaluations of the same test tweets, paired."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.data.config import option


@dataclass
class CompareOptions:
    a: str = option(None, "evaluate folder of model A (the difference is A - B)", cli="positional")
    b: str = option(None, "evaluate folder of model B", cli="positional")
    metric: str | None = option(
        None, "macro_f1, macro_recall, accuracy or f1:CLASS (default: the one A was evaluated with)"
    )
    n_boot: int = option(2000, "bootstrap resamples of the paired difference")
    out: str | None = option(None, "also write the JSON here", metavar="FILE")


HELP = (
    "two evaluate folders of the same test set, paired: the difference with its bootstrap interval, McNemar"
)
Options = CompareOptions


def run(args) -> int:
    from tinysent.apps.compare import compare

    result = compare(args.a, args.b, args.metric, args.n_boot)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0
