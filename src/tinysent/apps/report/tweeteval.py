"""The TweetEval page: the 3-class benchmark, models beside VADER, TF-IDF LR and published figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinysent.apps.report.baselines import PUBLISHED_TWEETEVAL, TfidfLogReg3, Vader3
from tinysent.apps.report.pages import write_tweeteval_pages
from tinysent.data import sentiment140 as D


def tweeteval_report(model_dirs: list[str], folder, out, train_path=None, split: str = "test") -> dict:
    """One page for TweetEval: every model, VADER, TF-IDF LR trained on the SemEval material (minus
    TweetEval-validation overlaps) and the published figures, by macro recall (bootstrap 95 %
    interval), accuracy, per-class recall, and accuracy on the positive/negative rows."""
    from tinysent.apps.evaluate import three_class_metrics, three_class_predictions
    from tinysent.core.normalize import Normalizer
    from tinysent.data.semeval import LABELS3, classes3, drop_overlap, read_semeval, read_tweeteval
    from tinysent.runtime.predictor import load

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    test = read_tweeteval(folder, split)
    y = classes3(test.polarity)
    preds: dict[str, np.ndarray] = {}
    for m in model_dirs:
        pred, _, _ = three_class_predictions(load(m), test.texts)
        preds[f"tinysent: {Path(m).name}"] = pred
    preds[Vader3.name] = Vader3().predict(test.texts)
    baseline_n = None
    if train_path is not None:
        hand = read_semeval(train_path)
        hand, _ = drop_overlap(hand, read_tweeteval(folder, "val").texts, Normalizer())
        hand = D.deduplicate(hand, drop_duplicates=True, drop_conflicts=True)
        baseline_n = len(hand)
        tfidf = TfidfLogReg3.for_metric("macro_recall")  # TweetEval's official metric
        preds[tfidf.name + " (SemEval training material)"] = tfidf.fit(
            hand.texts, classes3(hand.polarity)
        ).predict(test.texts)
    rows = []
    pn = y != 1
    for name, pred in preds.items():
        m = three_class_metrics(y, pred)
        rows.append(
            {
                "system": name,
                "macro_recall": m["macro_recall"],
                "macro_recall_ci95": m["macro_recall_ci95"],
                "accuracy": m["accuracy"],
                "recall": {k: v["recall"] for k, v in m["per_class"].items()},
                "posneg_rows_accuracy": float((pred[pn] == y[pn]).mean()),
                "confusion_matrix": m["confusion_matrix"]["rows_true_cols_pred"],
            }
        )
    summary = {
        "test": test.source,
        "split": split,
        "n": int(len(y)),
        "labels": list(LABELS3),
        "systems": rows,
        "published_macro_recall": PUBLISHED_TWEETEVAL,
        "baseline_train_rows": baseline_n,
        "note": "binary models answer with the neutral band (0.35, 0.65) on P(positive); pos/neg-rows "
        "accuracy counts a neutral answer on a positive or negative tweet as wrong",
    }
    write_tweeteval_pages(summary, rows, out, split, len(y))
    return summary
