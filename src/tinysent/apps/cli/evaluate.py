"""``tinysent evaluate``: metrics, plots and the smoke table of a model on a test file."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.apps.cli.options import BACKENDS, MODEL_HELP, model_or_shipped
from tinysent.build.config import option


@dataclass
class EvaluateOptions:
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    test_data: str | None = option(
        None,
        "test file or folder: Sentiment140, or a TweetEval folder (3-class metrics) (default: the cached "
        "Sentiment140 archive)",
        metavar="PATH",
    )
    out: str = option(
        None, "folder for metrics.json, plots and the smoke table", cli="required", metavar="DIR"
    )
    split: str = option(
        "test", "TweetEval folders: which split to score (val selects, test reports)", choices=("test", "val")
    )
    batch_size: int = option(256, "at most this many texts per model call")
    backend: str = option(
        "auto",
        "auto: the default path (the shipped model's int8 ONNX graph with its fp32 recheck); torch: PyTorch",
        choices=BACKENDS,
    )


HELP = "metrics.json, plots and the smoke table on a test file (without --model: the default path)"
EXTRA = "eval"
Options = EvaluateOptions
SHOWN = (
    "n",
    "macro_recall",
    "macro_recall_ci95",
    "accuracy",
    "accuracy_ci95",
    "macro_f1",
    "roc_auc",
    "excluded_neutral",
)


def run(args) -> int:
    from tinysent.apps.evaluate import evaluate

    m = evaluate(
        model_or_shipped(args.model),
        args.test_data,
        args.out,
        batch_size=args.batch_size,
        split=args.split,
        backend=args.backend,
    )
    print(json.dumps({k: m[k] for k in SHOWN if k in m}, indent=2))
    return 0
