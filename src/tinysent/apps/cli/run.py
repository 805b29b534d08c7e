"""``tinysent run``: the main job, train → evaluate → report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.apps.cli.options import options_of
from tinysent.build.config import TrainConfig, option, output_folder


@dataclass
class RunOptions(TrainConfig):
    base: str = option(
        "minilm-l6", "model to fine-tune: a preset (tinybert-4l, minilm-l6, ...), a folder or a hub id"
    )
    max_train: int | None = option(20000, "train on a stratified sample of this many tweets (none: all)")
    out: str = option(
        "runs/main", "folder for the model (OUT/model), its evaluation and the report", metavar="DIR"
    )
    test_data: str | None = option(
        None, "test file or folder (default: found beside --train-data)", metavar="PATH"
    )
    quiet: bool = option(False, "no progress bar")


HELP = "the main job: train, evaluate, report (default: minilm-l6, 20k tweets, 1 epoch)"
EXTRA = "train"
Options = RunOptions


def run(args) -> int:
    """The main job: train → evaluate → report, with defaults that finish on a 2-core CPU."""
    from tinysent.apps.evaluate import evaluate
    from tinysent.apps.report import build_report
    from tinysent.build.finetune import train

    out = Path(args.out)
    cfg = options_of(args, TrainConfig, out=str(out / "model"))
    test = args.test_data or args.train_data
    # One unit: a rerun replaces model, evaluation and report together (--overwrite), or not at all.
    with output_folder(out, cfg.overwrite, cfg.resume):
        train(cfg, progress=not args.quiet)
        m = evaluate(out / "model", test, out / "eval")
        # Baselines trained on as many tweets as the model saw, so the comparison is like for like.
        build_report(
            [str(out / "model")],
            test,
            out / "report",
            train_path=args.train_data,
            baseline_max_train=cfg.max_train,
        )
    print(json.dumps({k: m[k] for k in ("n", "accuracy", "accuracy_ci95", "macro_f1", "roc_auc")}, indent=2))
    print(
        f"model: {out / 'model'}\nmetrics and plots: {out / 'eval'}\nreport: {out / 'report' / 'report.html'}"
    )
    return 0
