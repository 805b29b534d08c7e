"""``tinysent evaluate``: metrics, plots and the smoke table of a model on a test file."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.apps.cli.options import BACKENDS, MODEL_HELP, model_or_shipped, options_of, test_task_option
from tinysent.data.config import ColumnsConfig, option


@dataclass
class EvaluateOptions(ColumnsConfig):
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    test_data: str | None = option(
        None,
        "test file or folder: Sentiment140, a TweetEval sentiment folder (3-class metrics), or your own "
        "labelled tweets in the model's labels (CSV/TSV, JSONL, Parquet, a TweetEval task folder) "
        "(default: the cached Sentiment140 archive)",
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
    task: str = test_task_option()
    card: bool = option(
        False, "also record the score on the model's card (tinysent.json: card; tinysent models shows it)"
    )
    metric: str | None = option(
        None,
        "labelled data: macro_f1, macro_recall, accuracy or f1:CLASS (default: the model's own selection "
        "metric, else macro_f1)",
    )


HELP = "metrics.json, plots and the smoke table on a test file (without --model: the default path)"
EXTRA = "eval"
Options = EvaluateOptions
SHOWN = (
    "n",
    "metric",
    "score",
    "score_ci95",
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
        metric=args.metric,
        task=args.task,
        card=args.card,
        columns=options_of(args, ColumnsConfig).read_options,
    )
    print(json.dumps({k: m[k] for k in SHOWN if k in m}, indent=2))
    return 0
