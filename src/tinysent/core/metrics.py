"""Metrics with their uncertainty, in numpy alone (so any install can evaluate what it predicts):
accuracy with a Wilson interval, per-class precision / recall / F1, macro recall (TweetEval's metric)
with a bootstrap interval, ROC-AUC, the confusion matrix, calibration error.

With 359 binary test tweets one tweet is 0.28 points: every accuracy carries its n and interval.
"""

from __future__ import annotations

import math

import numpy as np

from tinysent.core.errors import InputError
from tinysent.core.labels import SENTIMENT2, SENTIMENT3, polar


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95 % interval for k successes in n trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def confusion(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """k x k counts, rows true, columns predicted."""
    return np.bincount(np.asarray(y, int) * k + np.asarray(pred, int), minlength=k * k).reshape(k, k)


def per_class(y: np.ndarray, pred: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """(precision, recall, F1, support) per class; 0 where undefined (no prediction / no row)."""
    cm = confusion(y, pred, k).astype(float)
    tp, predicted, support = np.diag(cm), cm.sum(0), cm.sum(1)
    prec = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    rec = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros(k), where=(prec + rec) > 0)
    return prec, rec, f1, support.astype(int)


def macro_recall(y: np.ndarray, pred: np.ndarray, n_classes: int = 3) -> float:
    """Mean over classes of the share of each class's rows predicted as it (TweetEval's metric)."""
    y, pred = np.asarray(y), np.asarray(pred)
    return float(np.mean([(pred[y == c] == c).mean() for c in range(n_classes) if (y == c).any()]))


def macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Mean over classes of F1 (TweetEval's emotion and offensive metric); classes absent from both
    truth and predictions are left out."""
    _, _, f1, support = per_class(y, pred, n_classes)
    used = support + np.bincount(np.asarray(pred, int), minlength=n_classes) > 0
    return float(f1[used].mean()) if used.any() else 0.0


METRICS = ("macro_f1", "macro_recall", "accuracy")


def task_score(metric: str, y: np.ndarray, pred: np.ndarray, labels) -> float:
    """A task's metric by name: macro_f1, macro_recall, accuracy, or ``f1:CLASS`` (F1 of one class,
    e.g. TweetEval irony's ``f1:irony``)."""
    y, pred, k = np.asarray(y, int), np.asarray(pred, int), len(labels)
    if metric == "macro_f1":
        return macro_f1(y, pred, k)
    if metric == "macro_recall":
        return macro_recall(y, pred, k)
    if metric == "accuracy":
        return float((y == pred).mean()) if len(y) else 0.0
    if metric.startswith("f1:"):
        name = metric[3:]
        if name not in labels:
            raise InputError(f"--metric {metric}: no class {name!r} (classes: {', '.join(labels)})")
        return float(per_class(y, pred, k)[2][list(labels).index(name)])
    raise InputError(f"unknown metric {metric!r}: {', '.join(METRICS)} or f1:CLASS")


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half); None with one class."""
    y, score = np.asarray(y, int), np.asarray(score, float)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if not n_pos or not n_neg:
        return None
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    ends = np.r_[starts[1:], len(s)]
    for a, b in zip(starts, ends):  # tied scores share their mean rank
        ranks[a:b] = (a + b + 1) / 2
    r = np.empty(len(s))
    r[order] = ranks
    return float((r[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _per_class_dict(y, pred, labels) -> dict:
    prec, rec, f1, sup = per_class(y, pred, len(labels))
    return {
        lab: {
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "support": int(sup[i]),
        }
        for i, lab in enumerate(labels)
    }


def binary_metrics(y_true: np.ndarray, p_pos: np.ndarray, threshold: float = 0.5, labels=SENTIMENT2) -> dict:
    """Accuracy (+ Wilson CI), per-class precision/recall/F1, macro F1, ROC-AUC, confusion matrix."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = polar(p_pos, threshold)
    n, k = len(y_true), int((y_pred == y_true).sum())
    classes = _per_class_dict(y_true, y_pred, labels)
    return {
        "n": n,
        "correct": k,
        "accuracy": k / n if n else 0.0,
        "accuracy_ci95": list(wilson_interval(k, n)),
        "macro_f1": float(np.mean([c["f1"] for c in classes.values()])),
        "roc_auc": roc_auc(y_true, p_pos),
        "per_class": classes,
        "confusion_matrix": {
            "labels": list(labels),
            "rows_true_cols_pred": confusion(y_true, y_pred, 2).tolist(),
        },
        "threshold": threshold,
    }


def bootstrap_ci(
    metric: str, y_true: np.ndarray, y_pred: np.ndarray, labels, n_boot: int = 1000, seed: int = 0
) -> list[float]:
    """Percentile bootstrap 95 % interval of :func:`task_score` (rows resampled with replacement,
    seeded)."""
    n = len(y_true)
    rng = np.random.Generator(np.random.PCG64(seed))
    boots = [
        task_score(metric, y_true[i], y_pred[i], labels)
        for i in (rng.integers(0, n, n) for _ in range(n_boot))
    ]
    return [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]


def paired_bootstrap(metric: str, y_true, pred_a, pred_b, labels, n_boot: int = 2000, seed: int = 0) -> dict:
    """Two systems' answers on the same rows, compared paired: ``metric`` of A minus B, with a
    percentile bootstrap 95 % interval that resamples the same rows for both (seeded). Intervals of
    each system alone overlap far more than the paired difference's; this is the one to read."""
    y, a, b = (np.asarray(v, int) for v in (y_true, pred_a, pred_b))
    n = len(y)
    rng = np.random.Generator(np.random.PCG64(seed))
    diffs = []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        diffs.append(task_score(metric, y[i], a[i], labels) - task_score(metric, y[i], b[i], labels))
    score_a, score_b = task_score(metric, y, a, labels), task_score(metric, y, b, labels)
    return {
        "metric": metric,
        "a_score": score_a,
        "b_score": score_b,
        "difference": score_a - score_b,
        "difference_ci95": [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))],
        "n_boot": n_boot,
    }


def mcnemar(correct_a, correct_b) -> dict:
    """McNemar's exact test of two systems on the same rows: the two-sided binomial test (p = 1/2) on
    the rows only one of them gets right (computed in log space: numpy and math, no scipy)."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    n01, n10 = int((a & ~b).sum()), int((~a & b).sum())
    n = n01 + n10
    if not n:
        return {"a_only": n01, "b_only": n10, "p_value": 1.0}
    k = min(n01, n10)
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
        for i in range(k + 1)
    ]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(x - top) for x in logs)
    return {"a_only": n01, "b_only": n10, "p_value": float(min(1.0, 2 * tail))}


def class_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    labels=SENTIMENT3,
    n_boot: int = 1000,
    seed: int = 0,
    metric: str | None = None,
) -> dict:
    """Macro-averaged recall (TweetEval's metric) with a percentile bootstrap 95 % interval (rows
    resampled with replacement, seeded); accuracy with its Wilson interval; macro F1; per-class
    precision, recall, F1; the confusion matrix (rows true, columns predicted). Any label set.
    ``metric`` (a :func:`task_score` name): also that metric, as ``score`` with ``score_ci95``."""
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    n, k, c = len(y_true), int((y_true == y_pred).sum()), len(labels)
    classes = _per_class_dict(y_true, y_pred, labels)
    extra = {}
    if metric is not None:
        extra = {
            "metric": metric,
            "score": task_score(metric, y_true, y_pred, labels),
            "score_ci95": bootstrap_ci(metric, y_true, y_pred, labels, n_boot, seed),
        }
    return {
        "n": n,
        **extra,
        "macro_recall": macro_recall(y_true, y_pred, c),
        "macro_recall_ci95": bootstrap_ci("macro_recall", y_true, y_pred, labels, n_boot, seed),
        "correct": k,
        "accuracy": k / n if n else 0.0,
        "accuracy_ci95": list(wilson_interval(k, n)),
        "macro_f1": float(np.mean([v["f1"] for v in classes.values()])),
        "per_class": classes,
        "confusion_matrix": {
            "labels": list(labels),
            "rows_true_cols_pred": confusion(y_true, y_pred, c).tolist(),
        },
    }


def expected_calibration_error(y: np.ndarray, p_pos: np.ndarray, bins: int = 10) -> tuple[float, list]:
    """ECE of a binary P(positive): the predicted class (positive from 0.5) and its confidence."""
    p_pos = np.asarray(p_pos, float)
    pred = (p_pos >= 0.5).astype(int)
    return calibration_table(pred == np.asarray(y), np.where(pred == 1, p_pos, 1 - p_pos), 0.5, bins)


def top_label_calibration(y: np.ndarray, probs: np.ndarray, bins: int = 10) -> tuple[float, list]:
    """ECE of any label set: the most probable label's probability against how often it is right
    (top-label calibration; confidences lie in [1/k, 1])."""
    probs = np.asarray(probs, float)
    pred = probs.argmax(axis=1)
    return calibration_table(pred == np.asarray(y), probs.max(axis=1), 1 / probs.shape[1], bins)


def calibration_table(
    correct: np.ndarray, confidence: np.ndarray, lo: float, bins: int = 10
) -> tuple[float, list]:
    """Expected calibration error over equal-width confidence bins from ``lo`` to 1, and the per-bin
    table (n, mean confidence, accuracy) a reliability diagram draws."""
    correct = np.asarray(correct, float)
    conf = np.asarray(confidence, float)
    edges = np.linspace(lo, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            gap = abs(correct[m].mean() - conf[m].mean())
            ece += m.mean() * gap
            table.append(
                {
                    "lo": float(edges[b]),
                    "hi": float(edges[b + 1]),
                    "n": int(m.sum()),
                    "confidence": float(conf[m].mean()),
                    "accuracy": float(correct[m].mean()),
                }
            )
    return float(ece), table
