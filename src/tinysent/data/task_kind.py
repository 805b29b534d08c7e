"""The one place a run's task kind is decided (``labelled``, ``sentiment-mix``, ``sentiment140``):
from its data options, or an explicit ``--task`` checked against the data. Every stage reads the
result as ``cfg.task_kind``; a trained model's config stores it, so nothing decides it again."""

from __future__ import annotations

from pathlib import Path

from tinysent.core.errors import DataError


def resolve_task(cfg) -> str:
    """The one place a run's task is decided, from its data options: ``cfg.task`` when given, else
    the 3-class sentiment mix for ``--num-labels 3``, your own labelled tweets for a labelled file (a
    header row, JSONL, Parquet, a TweetEval task folder) without ``--handlabelled-data``, else binary
    Sentiment140. Every stage reads the result (``cfg.task_kind``); a trained model stores it in its
    config, so nothing after training decides it again."""
    from tinysent.data.labelled import is_labelled

    mix = cfg.num_labels == 3
    if cfg.task == "auto":
        if mix:
            return "sentiment-mix"
        return "labelled" if not cfg.handlabelled_data and is_labelled(cfg.train_data) else "sentiment140"
    if (cfg.task == "sentiment-mix") != mix:
        raise DataError(f"--task {cfg.task} and --num-labels {cfg.num_labels} disagree: the mix is 3 classes")
    # a model's saved config names its task and a file that may be gone: only data at hand is checked
    readable = cfg.train_data is not None and Path(cfg.train_data).exists()
    if cfg.task == "labelled" and readable and not is_labelled(cfg.train_data):
        raise DataError(
            f"--task labelled: {cfg.train_data} is not a labelled file (CSV/TSV with a header row naming "
            "its text and label columns, JSONL, Parquet or a TweetEval task folder)"
        )
    return cfg.task


TASK_SAYS = {
    "labelled": "your own labelled tweets in {train_data} (labels as the data names them), selected on "
    "{metric}",
    "sentiment-mix": "negative / neutral / positive from {handlabelled_data}{beside}, selected on "
    "{val3} macro recall{and_s140}",
    "sentiment140": "negative / positive from Sentiment140 ({train_data}), selected on validation accuracy",
}


def describe_task(cfg) -> str:
    """One line saying what a run learns and what selects it (printed when a run starts)."""

    def name(path):  # the file's name: a printed line is often kept (logs, notebooks), a path is private
        return Path(path).name if path else "the cached download"

    fields = {"train_data": name(cfg.train_data), "metric": cfg.metric}
    fields["handlabelled_data"] = name(cfg.handlabelled_data)
    s140 = cfg.train_data is not None  # the mix's Sentiment140 rows: they also select
    fields["beside"] = " beside Sentiment140's pos/neg rows" if s140 else ""
    fields["and_s140"] = " and Sentiment140 validation accuracy" if s140 else ""
    holdout = getattr(cfg, "handlabelled_holdout", None)
    fields["val3"] = "held-out " + ", ".join(holdout) if holdout else "TweetEval validation"
    return f"task: {cfg.task_kind}: " + TASK_SAYS[cfg.task_kind].format(**fields)


#: How test rows are read and scored (``--task`` of evaluate and report): your own labels (the
#: model's, by its metric), TweetEval's 3-class sentiment benchmark (macro recall), or Sentiment140's
#: positive/negative rows (accuracy).
TEST_TASKS = ("labelled", "tweeteval", "sentiment140")


def model_task(meta) -> str:
    """The task a trained model was made for: the one its config stores, else (a model saved before
    tasks were stored) ``labelled`` for any label set other than sentiment's."""
    task = (meta.config or {}).get("task")
    if task and task != "auto":
        return task
    return (
        "sentiment"
        if list(meta.labels) in (["negative", "positive"], ["negative", "neutral", "positive"])
        else "labelled"
    )


def resolve_test_task(path, model_tasks, task: str = "auto", mapping=None) -> str:
    """The one place evaluate, report and run decide how test data is read: ``task`` when given
    (checked against the file), else from the models' task (a model of your own labels is scored on
    labelled rows, never as Sentiment140), and for sentiment models from the file: a labelled file
    (a header row, JSONL, Parquet, a TweetEval folder of another task or with ``mapping``), a
    TweetEval sentiment folder, else Sentiment140 (None: the cached archive)."""
    from tinysent.data.labelled import is_labelled, read_as_labelled
    from tinysent.data.semeval import kind_of

    tweeteval = path is not None and kind_of(path) == "tweeteval"
    labelled_model = "labelled" in set(model_tasks)
    if task == "auto":
        if labelled_model or read_as_labelled(path, mapping):
            task = "labelled"
        else:
            task = "tweeteval" if tweeteval else "sentiment140"
    elif labelled_model and task != "labelled":
        raise DataError(
            f"--task {task}: the model was trained on your own labels; score it with --task labelled"
        )
    if task == "labelled" and (path is None or not is_labelled(path)):
        raise DataError(
            f"--test-data {path}: not a labelled file (CSV/TSV with a header row naming its text and label "
            "columns, JSONL, Parquet or a TweetEval folder)"
        )
    if task == "tweeteval" and not tweeteval:
        raise DataError(
            f"--task tweeteval: {path} is not a TweetEval folder (with test_text.txt, test_labels.txt)"
        )
    if task == "sentiment140" and (tweeteval or (path is not None and is_labelled(path))):
        raise DataError(f"--task sentiment140: {path} is not Sentiment140's headerless CSV (or its folder)")
    return task
