"""One comparison page for models and baselines on the same test tweets, whatever the task: the
task's metric with its interval, accuracy, F1 per class, calibration, paired McNemar tests, a
confusion matrix per system, a reliability diagram, the learning curve, the worst mistakes.

With 359 binary test tweets one tweet is 0.28 points: differences under ~4 points are noise unless a
paired test says otherwise, so the page shows both.

In order: :mod:`.baselines` (baselines and published figures), :mod:`.sentiment140`, :mod:`.tweeteval`
and :mod:`.labelled` (what each task puts on the page), :mod:`.page` and :mod:`.figures` (the one
page design, rendered).
"""

from __future__ import annotations

import json
from pathlib import Path

from tinysent.apps.report.baselines import mcnemar
from tinysent.apps.report.labelled import labelled_report
from tinysent.apps.report.sentiment140 import build_report
from tinysent.apps.report.tweeteval import tweeteval_report


def read_curve(path) -> dict | None:
    """``tinysent curve``'s curve.json (or the folder holding it), for the page's learning curve."""
    from tinysent.core.errors import InputError

    if path is None:
        return None
    p = Path(path)
    p = p / "curve.json" if p.is_dir() else p
    if not p.is_file():
        raise InputError(f"--curve {path}: no curve.json there (tinysent curve writes it)")
    return json.loads(p.read_text())


def report(
    models: list[str],
    test_data,
    out,
    train_data=None,
    baseline_max_train: int | None = None,
    split: str = "test",
    metric: str | None = None,
    columns: dict | None = None,
    task: str = "auto",
    curve=None,
) -> dict:
    """The page for the models' task on ``test_data`` (:func:`resolve_test_task`: your own labelled
    tweets, TweetEval sentiment or Sentiment140); the summary gets ``lines``, one per system, for a
    terminal. ``curve``: a curve.json to draw."""
    from tinysent.core.meta import model_meta
    from tinysent.data.task_kind import model_task, resolve_test_task

    columns = columns or {}
    tasks = [model_task(model_meta(m)) for m in models]
    kind = resolve_test_task(test_data, tasks, task, columns.get("mapping"))
    drawn = read_curve(curve)
    if kind == "labelled":
        s = labelled_report(models, test_data, out, train_data, split, metric, columns, drawn)
    elif kind == "tweeteval":
        s = tweeteval_report(models, test_data, out, train_path=train_data, split=split, curve=drawn)
    else:
        s = build_report(models, test_data, out, train_data, baseline_max_train, drawn)
    s["lines"] = [
        f"{r['system']:<64} {r['metric']} {r['score']:.3f} "
        f"[{r['score_ci95'][0]:.3f}, {r['score_ci95'][1]:.3f}]"
        for r in s["systems"]
    ]
    return s


__all__ = ["build_report", "labelled_report", "mcnemar", "report", "tweeteval_report"]
