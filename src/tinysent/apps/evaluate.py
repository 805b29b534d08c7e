"""Evaluation: honest metrics (with intervals), plots a person wants, and a smoke table.

With 359 binary test tweets one tweet is 0.28 points, so every accuracy carries its Wilson 95 %
interval and its n.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from tinysent.apps.plots import plot_confusion, plot_roc, plot_training
from tinysent.build import sentiment140 as D
from tinysent.build.export.parity import SMOKE_SENTENCES
from tinysent.core.numerics import binary_share

def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95 % interval for k successes in n trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def binary_metrics(y_true: np.ndarray, p_pos: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy (+ Wilson CI), per-class precision/recall/F1, macro F1, ROC-AUC, confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y_true = np.asarray(y_true).astype(int)
    y_pred = (np.asarray(p_pos) >= threshold).astype(int)
    n = len(y_true)
    k = int((y_pred == y_true).sum())
    prec, rec, f1, sup = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1], zero_division=0)
    lo, hi = wilson_interval(k, n)
    per_class = {
        lab: {
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "support": int(sup[i]),
        }
        for i, lab in enumerate(D.BINARY_LABELS)
    }
    auc = float(roc_auc_score(y_true, p_pos)) if len(set(y_true.tolist())) == 2 else None
    return {
        "n": n,
        "correct": k,
        "accuracy": k / n if n else 0.0,
        "accuracy_ci95": [lo, hi],
        "macro_f1": float(np.mean(f1)),
        "roc_auc": auc,
        "per_class": per_class,
        "confusion_matrix": {
            "labels": list(D.BINARY_LABELS),
            "rows_true_cols_pred": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        },
        "threshold": threshold,
    }


# ---------------------------------------------------------------------------------------------
def three_class_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict:
    """TweetEval's metric, macro-averaged recall, with a percentile bootstrap 95 % interval (tweets
    resampled with replacement, seeded); accuracy with its Wilson interval; per-class precision,
    recall, F1; the 3 × 3 confusion matrix (rows true, columns predicted)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    from tinysent.build.semeval import LABELS3
    from tinysent.build.three_class import macro_recall

    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    n, k = len(y_true), int((y_true == y_pred).sum())
    prec, rec, f1, sup = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2], zero_division=0)
    rng = np.random.Generator(np.random.PCG64(seed))
    boots = [macro_recall(y_true[i], y_pred[i]) for i in (rng.integers(0, n, n) for _ in range(n_boot))]
    return {
        "n": n,
        "macro_recall": macro_recall(y_true, y_pred),
        "macro_recall_ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))],
        "correct": k,
        "accuracy": k / n if n else 0.0,
        "accuracy_ci95": list(wilson_interval(k, n)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            lab: {
                "precision": float(prec[i]),
                "recall": float(rec[i]),
                "f1": float(f1[i]),
                "support": int(sup[i]),
            }
            for i, lab in enumerate(LABELS3)
        },
        "confusion_matrix": {
            "labels": list(LABELS3),
            "rows_true_cols_pred": confusion_matrix(y_true, y_pred, labels=[0, 1, 2]).tolist(),
        },
    }


#: A binary model answers 3-class questions with this abstain band on P(positive), fixed a priori (never
#: tuned on a test set; Sentiment140's training data has no neutral tweets to tune it on).
DEFAULT_BAND = (0.35, 0.65)


def three_class_predictions(
    predictor, texts: list[str], batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predicted class index 0/1/2, binary answer P(pos) / (P(pos) + P(neg)), truncated?) from one
    pass: a 3-class model's most probable class; a binary model's P(positive) through
    :data:`DEFAULT_BAND` (negative below, positive above, neutral inside)."""
    if predictor.three_class:
        p, truncated = predictor.proba(texts, batch_size)
        neg, neu, pos = (predictor.meta.labels.index(n) for n in ("negative", "neutral", "positive"))
        share = binary_share(p, neg, pos)
        return p[:, [neg, neu, pos]].argmax(-1), share, truncated
    p, truncated = predictor.positive_proba(texts, batch_size)
    lo, hi = DEFAULT_BAND
    return np.where(p >= hi, 2, np.where(p <= lo, 0, 1)), p, truncated


def evaluate_tweeteval(model_dir, folder, out: Path, split: str = "test", batch_size: int = 256) -> dict:
    """TweetEval sentiment: 3-class metrics (macro recall, the official one, first), confusion matrix."""
    from tinysent.build.semeval import LABELS3, classes3, read_tweeteval
    from tinysent.runtime.predictor import load

    corpus = read_tweeteval(folder, split)
    predictor = load(model_dir)
    y = classes3(corpus.polarity)
    pred, share, truncated = three_class_predictions(predictor, corpus.texts, batch_size)
    metrics = three_class_metrics(y, pred)
    metrics.update(
        model=str(model_dir),
        data=corpus.source,
        split=split,
        data_sha256=D.file_sha256(corpus.source),
        truncated=int(truncated.sum()),
        how="most probable of 3 classes"
        if predictor.three_class
        else f"binary model, neutral band {DEFAULT_BAND}",
    )
    # positive/negative rows alone, scored by P(pos) vs P(neg) (comparable with binary systems)
    pn = y != 1
    metrics["binary_rows"] = binary_metrics((y[pn] == 2).astype(int), share[pn], 0.5)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with open(out / "predictions.jsonl", "w") as f:
        for line, yy, pp in zip(corpus.lines.tolist(), y.tolist(), pred.tolist()):
            f.write(json.dumps({"line": line, "true": LABELS3[yy], "pred": LABELS3[pp]}) + "\n")
    name = Path(model_dir).name
    plot_confusion(
        metrics["confusion_matrix"]["rows_true_cols_pred"],
        list(LABELS3),
        out / "confusion_matrix.png",
        f"{name}: TweetEval {split}, n={len(y)}, macro recall {metrics['macro_recall']:.3f}",
    )
    return metrics


# ---------------------------------------------------------------------------------------------


def evaluate(
    model_dir: str | Path,
    data_path: str | Path | None,
    out: str | Path,
    batch_size: int = 256,
    split: str = "test",
) -> dict:
    """Score a test set; write metrics.json, plots and (Sentiment140) the smoke table. A TweetEval
    folder gets 3-class metrics (``split``: test or val); Sentiment140 its binary rows' metrics (a
    3-class model answers them by P(pos) vs P(neg))."""
    from tinysent.build.semeval import kind_of
    from tinysent.runtime.predictor import load

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if data_path is not None and kind_of(data_path) == "tweeteval":
        return evaluate_tweeteval(model_dir, data_path, out, split, batch_size)
    file, member = D.resolve(data_path, "test")
    corpus = D.read(file, member=member)
    binary = corpus.binary()
    if len(binary) == 0:
        raise D.DataError(f"{file} has no positive or negative rows to evaluate on")
    predictor = load(model_dir)
    p, truncated = predictor.positive_proba(binary.texts, batch_size)
    y = binary.classes
    metrics = binary_metrics(y, p, predictor.meta.threshold)
    metrics.update(
        model=str(model_dir),
        data=str(file) + (f"::{member}" if member else ""),
        data_sha256=D.file_sha256(file),
        excluded_neutral=corpus.n_neutral,
        malformed_rows=len(corpus.problems),
        truncated=int(truncated.sum()),
    )
    smoke = predictor.predict(SMOKE_SENTENCES)
    metrics["smoke"] = [{"text": t, **r} for t, r in zip(SMOKE_SENTENCES, smoke)]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    # Line numbers, not texts: result folders get committed and shared, the data's text stays in the data.
    with open(out / "predictions.jsonl", "w") as f:
        for line, yy, pp in zip(binary.lines.tolist(), y.tolist(), p.tolist()):
            f.write(json.dumps({"line": line, "true": D.BINARY_LABELS[yy], "positive": pp}) + "\n")
    name = Path(model_dir).name
    plot_confusion(
        metrics["confusion_matrix"]["rows_true_cols_pred"],
        list(D.BINARY_LABELS),
        out / "confusion_matrix.png",
        f"{name}: n={len(y)}, acc {metrics['accuracy']:.1%}",
    )
    plot_roc(y, p, out / "roc.png", f"{name}: ROC on n={len(y)}")
    plot_training(Path(model_dir) / "train_log.jsonl", out / "training_curves.png")
    (out / "smoke.md").write_text(smoke_table(metrics["smoke"]))
    return metrics


def smoke_table(rows: list[dict]) -> str:
    lines = ["| text | label | P(positive) |", "|---|---|---|"]
    lines += [f"| {r['text']} | {r['label']} | {r['positive']:.3f} |" for r in rows]
    return "\n".join(lines) + "\n"
