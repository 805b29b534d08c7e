"""One comparison page for models and baselines on the same test tweets: accuracy with Wilson
intervals, paired McNemar tests, calibration, thresholds, neutral band, and the worst mistakes.

With 359 binary test tweets one tweet is 0.28 points: differences under ~4 points are noise unless a
paired test says otherwise, so the page shows both.

In order: :mod:`.baselines` (baselines and statistics), :mod:`.sentiment140`, :mod:`.tweeteval` and
:mod:`.labelled` (the pages: Sentiment140, TweetEval sentiment, your own labelled tweets),
:mod:`.pages` (rendering).
"""

from __future__ import annotations

from tinysent.apps.report.baselines import mcnemar
from tinysent.apps.report.labelled import labelled_report
from tinysent.apps.report.sentiment140 import build_report
from tinysent.apps.report.tweeteval import tweeteval_report


def report(
    models: list[str],
    test_data,
    out,
    train_data=None,
    baseline_max_train: int | None = None,
    split: str = "test",
    metric: str | None = None,
    columns: dict | None = None,
) -> dict:
    """The page for ``test_data``'s kind (your own labelled tweets, TweetEval sentiment or
    Sentiment140); the summary gets ``lines``, one per system, for a terminal."""
    from tinysent.data.labelled import read_as_labelled
    from tinysent.data.semeval import kind_of

    if read_as_labelled(test_data, (columns or {}).get("mapping")):
        return labelled_report(models, test_data, out, train_data, split, metric, columns)
    if test_data and kind_of(test_data) == "tweeteval":
        s = tweeteval_report(models, test_data, out, train_path=train_data)
        s["lines"] = [
            f"{r['system']:<70} macro recall {r['macro_recall']:.3f} "
            f"[{r['macro_recall_ci95'][0]:.3f}, {r['macro_recall_ci95'][1]:.3f}]"
            for r in s["systems"]
        ]
        return s
    s = build_report(models, test_data, out, train_path=train_data, baseline_max_train=baseline_max_train)
    s["lines"] = [
        f"{r['system']:<60} {r['accuracy']:.2%}  [{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}]"
        for r in s["systems"]
    ]
    return s


__all__ = ["build_report", "labelled_report", "mcnemar", "report", "tweeteval_report"]
