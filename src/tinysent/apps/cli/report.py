"""``tinysent report``: one page comparing models and baselines on a test file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinysent.apps.cli.options import model_or_shipped, options_of, test_task_option
from tinysent.data.config import ColumnsConfig, option


@dataclass
class ReportOptions(ColumnsConfig):
    model: list[str] = option(
        None,
        "model folder or installed model's name (repeatable; default: the shipped model)",
        cli="append",
        metavar="DIR",
    )
    test_data: str | None = option(
        None,
        "test file or folder: Sentiment140, TweetEval sentiment, or your own labelled tweets (CSV/TSV, "
        "JSONL, Parquet, a TweetEval task folder) (default: the cached official archive)",
        metavar="PATH",
    )
    train_data: str | None = option(
        None,
        "training file or folder for the TF-IDF and majority baselines (default: the cached download; "
        "required for labelled data)",
        metavar="PATH",
    )
    split: str = option("test", "TweetEval folders: which split to report on", choices=("test", "val"))
    metric: str | None = option(
        None, "labelled data: macro_f1, macro_recall, accuracy or f1:CLASS (default: the model's own)"
    )
    task: str = test_task_option()
    curve: str | None = option(
        None,
        "curve.json of `tinysent curve` (or its folder): the page draws the learning curve",
        metavar="PATH",
    )
    baseline_max_train: int | None = option(None, "cap the baselines' training tweets (none: all)")
    out: str = option(
        None, "folder for report.html, report.md and report.json", cli="required", metavar="DIR"
    )


HELP = "one HTML/Markdown page comparing models and baselines on a test file"
EXTRA = "eval"
Options = ReportOptions


def run(args) -> int:
    from tinysent.apps.report import report

    models = [str(model_or_shipped(m)) for m in (args.model or [None])]  # names (accurate, ...) as folders
    columns = options_of(args, ColumnsConfig).read_options
    s = report(
        models,
        args.test_data,
        args.out,
        args.train_data,
        args.baseline_max_train,
        args.split,
        args.metric,
        columns,
        args.task,
        args.curve,
    )
    for line in s["lines"]:
        print(line)
    print(f"report: {Path(args.out) / 'report.html'}")
    return 0
