"""``tinysent run``: the main job, train → evaluate → report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.apps.cli.options import options_of
from tinysent.data.config import TrainConfig, option, output_folder


@dataclass
class RunOptions(TrainConfig):
    base: str = option(
        "minilm-l6", "model to fine-tune: a preset (tinybert-4l, minilm-l6, ...), a folder or a hub id"
    )
    max_train: int | None = option(
        None,
        "train on a stratified sample of this many tweets (none: every training tweet is a candidate and "
        "--time-budget decides how many are read; --max-train 20000 --time-budget none: the old fixed run)",
    )
    time_budget: float | None = option(
        540,
        "seconds of training, validation passes included: the schedule is fitted to the throughput "
        "measured in the first steps (none: no limit)",
    )
    out: str = option(
        "runs/main", "folder for the model (OUT/model), its evaluation and the report", metavar="DIR"
    )
    test_data: str | None = option(
        None, "test file or folder (default: found beside --train-data)", metavar="PATH"
    )
    quiet: bool = option(False, "no progress bar")


HELP = "the main job: train, evaluate, report (default: minilm-l6, the tweets 9 minutes of training read)"
EXTRA = "train"
Options = RunOptions


def test_data_of(cfg: TrainConfig, test_data: str | None) -> str | None:
    """The test rows a run is scored on, found and read before anything is trained (a bad or missing
    test file is the error, not a lost model): ``--test-data``, else the test split beside
    ``--train-data`` (a Sentiment140 folder's test file, a TweetEval folder's test split). A labelled
    file has no test split of its own: scoring a model on its training rows would flatter it."""
    from tinysent.core.errors import InputError
    from tinysent.data import sentiment140 as D
    from tinysent.data.labelled import read_labelled
    from tinysent.data.semeval import read_tweeteval
    from tinysent.data.task_kind import resolve_test_task

    if cfg.labelled:
        if test_data is None:
            folder = Path(cfg.train_data)
            if not (folder.is_dir() and (folder / "test_text.txt").exists()):
                raise InputError(
                    f"--train-data {cfg.train_data} is one labelled file without a test split: name the "
                    "test rows with --test-data FILE (a model scored on its training rows looks better "
                    "than it is)"
                )
            test_data = cfg.train_data
        read_labelled(test_data, "test", **cfg.read_options)  # readable, with labels: checked now
        return test_data
    test_data = test_data or cfg.train_data
    kind = resolve_test_task(test_data, [cfg.task_kind])
    if kind == "labelled":  # a labelled test file beside a Sentiment140 training file
        read_labelled(test_data, "test")
    elif kind == "tweeteval":
        read_tweeteval(test_data, "test")
    else:
        D.resolve(test_data, "test")
    return test_data


def shipped_beside(model: Path) -> list[str]:
    """The shipped model, as a row of the report, when it answers every label of the trained model's
    task (any sentiment task: Sentiment140, TweetEval, a labelled file of negative / neutral /
    positive); none for other label sets (emotions, irony), which it cannot answer."""
    from tinysent.core.meta import ModelMeta
    from tinysent.runtime.predictor import SHIPPED_DIR

    shipped = ModelMeta.load(SHIPPED_DIR).labels
    return [str(SHIPPED_DIR)] if set(ModelMeta.load(model).labels) <= set(shipped) else []


def made_line(training: dict, trained: dict) -> str:
    """What the run did, in one line: minutes, tweets read, precision, machine, and which checkpoint
    the model is (the one validation kept)."""
    from tinysent.core.machine import describe, precision_name

    said = (
        f"trained {trained['elapsed_s'] / 60:.1f} min on {trained.get('seen', 0):,} tweets "
        f"({trained['steps']:,} steps, {precision_name(training.get('precision'))}, "
        f"on {describe(training)})"
    )
    if training.get("steps") != trained["steps"]:
        said += (
            f"; the model kept is step {training.get('steps', 0):,}'s, after "
            f"{training.get('tweets_seen', 0):,} tweets (best on validation)"
        )
    return said


def run(args) -> int:
    """The main job: train → evaluate → report, with defaults that finish on a 2-core CPU. The test
    data is checked before training; a failure after training keeps the trained model."""
    import sys

    from tinysent.apps.evaluate import evaluate
    from tinysent.apps.report import report
    from tinysent.core.errors import TinysentError
    from tinysent.core.meta import ModelMeta
    from tinysent.train.finetune import train

    out = Path(args.out)
    cfg = options_of(args, TrainConfig, out=str(out / "model"))
    cfg.check_files()
    test = test_data_of(cfg, args.test_data)
    if test == cfg.train_data and args.train_data:  # as the user named it (the page shows the path)
        test = args.train_data
    columns = cfg.read_options if cfg.labelled else None
    failed = None
    # One unit: a rerun replaces model, evaluation and report together (--overwrite), or not at all;
    # once a model is trained, a failing evaluation or report keeps it (the error says where it is).
    with output_folder(out, cfg.overwrite, cfg.resume):
        trained = train(cfg, progress=not args.quiet)
        made = ModelMeta.load(out / "model").training  # what the kept checkpoint read
        seen = made.get("tweets_seen") or trained.get("seen")
        try:
            m = evaluate(out / "model", test, out / "eval", columns=columns)
            # Baselines trained on as many tweets as the model saw, so the comparison is like for like;
            # the shipped model beside the new one wherever it can answer the task's labels.
            report(
                [str(out / "model"), *shipped_beside(out / "model")],
                test,
                out / "report",
                train_data=args.train_data,
                baseline_max_train=cfg.max_train or seen,
                columns=columns,
            )
        except (TinysentError, OSError) as e:
            failed = e
    if failed is not None:
        raise TinysentError(
            f"{failed} (the trained model is kept in {out / 'model'}: evaluate it with "
            f"`tinysent evaluate --model {out / 'model'} --test-data FILE`)"
        )
    print(made_line(made, trained), file=sys.stderr)
    keys = ("n", "accuracy", "accuracy_ci95", "macro_f1", "roc_auc", "metric", "score", "score_ci95")
    print(json.dumps({k: m[k] for k in keys if k in m}, indent=2))
    print(
        f"model: {out / 'model'}\nmetrics and plots: {out / 'eval'}\nreport: {out / 'report' / 'report.html'}"
    )
    return 0
