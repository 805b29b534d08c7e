"""``tinysent report``: one page comparing models and baselines on a test file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinysent.apps.cli.options import model_or_shipped
from tinysent.build.config import option


@dataclass
class ReportOptions:
    model: list[str] = option(
        None, "model folder (repeatable; default: the shipped model)", cli="append", metavar="DIR"
    )
    test_data: str | None = option(
        None, "test file or folder (default: the cached official archive)", metavar="PATH"
    )
    train_data: str | None = option(
        None,
        "training file or folder for the TF-IDF and majority baselines (default: the cached download)",
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

    models = args.model or [str(model_or_shipped(None))]
    s = report(models, args.test_data, args.out, args.train_data, args.baseline_max_train)
    for line in s["lines"]:
        print(line)
    print(f"report: {Path(args.out) / 'report.html'}")
    return 0
