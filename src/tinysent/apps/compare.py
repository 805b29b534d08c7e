"""Two evaluations of the same test tweets, compared paired: the difference in the task's metric
with a paired bootstrap interval (:func:`tinysent.core.metrics.paired_bootstrap`) and McNemar's exact
test on the tweets only one of them gets right. Reads two ``tinysent evaluate`` output folders:
their ``predictions.jsonl`` (one line per test tweet: its line, true and predicted label; on a binary
test set such as Sentiment140's, P(positive), read as labels through the threshold evaluate used) and
``metrics.json`` (the metric and the label order). Numpy only: works in the light install."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinysent.core.errors import InputError, MissingFileError
from tinysent.core.files import file_sha256
from tinysent.core.labels import threshold_labels
from tinysent.core.metrics import mcnemar, paired_bootstrap


def _json(text: str, file: Path, line: int | None = None):
    """``text`` parsed, or one line naming the damaged file (and line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = f"{file} line {line}" if line else str(file)
        raise InputError(
            f"{where} is not valid JSON ({e.msg}): the folder is damaged; evaluate again"
        ) from None


def read_evaluation(folder) -> dict:
    """An evaluate folder's rows (line, true, pred) and what was measured (metric, labels)."""
    folder = Path(folder)
    preds, metrics = folder / "predictions.jsonl", folder / "metrics.json"
    for f in (preds, metrics):
        if not f.is_file():
            raise MissingFileError(f"{folder} is not a `tinysent evaluate` folder (no {f.name})")
    rows = []
    for n, x in enumerate(preds.read_text(encoding="utf-8").splitlines(), 1):
        if x.strip():
            rows.append(_json(x, preds, n))
            if not isinstance(rows[-1], dict) or not {"line", "true"} <= rows[-1].keys():
                raise InputError(
                    f"{preds} line {n}: not a prediction (no line and true label): evaluate again"
                )
    m = _json(metrics.read_text(encoding="utf-8"), metrics)
    if not isinstance(m, dict):
        raise InputError(f"{metrics}: not an evaluation's metrics: evaluate the model again")
    if m.get("predictions_sha256") not in (None, file_sha256(preds)):
        raise InputError(
            f"{preds} is not the file {metrics.name} was computed from (its sha256 differs: edited or "
            "replaced): evaluate the model again"
        )
    labels = (m.get("confusion_matrix") or {}).get("labels") or sorted({r["true"] for r in rows})
    metric = m.get("metric") or "macro_recall"
    if rows and "pred" not in rows[0]:  # a binary test set: P(positive) per tweet, and evaluate's threshold
        if "threshold" not in m or len(labels) != 2:
            raise InputError(
                f"{folder}: its predictions are probabilities, but its metrics.json names no threshold and "
                "two labels: evaluate the model again with this version of tinysent"
            )
        p_pos = np.array([r["positive"] for r in rows], dtype=float)
        pred = threshold_labels(p_pos, m["threshold"], None, names=tuple(labels))
        rows = [{**r, "pred": p} for r, p in zip(rows, pred)]
        metric = "accuracy"  # what evaluate reports on a binary test set
    if not (m.get("texts_sha256") or m.get("data_sha256")):
        raise InputError(
            f"{metrics} names no hash of its test data, so what it was measured on cannot be checked: "
            "evaluate the model again with this version of tinysent"
        )
    return {
        "folder": str(folder),
        "lines": [r["line"] for r in rows],
        "true": [r["true"] for r in rows],
        "pred": [r["pred"] for r in rows],
        "metric": metric,
        "labels": list(labels),
        "model": m.get("model"),
        "data_sha256": m.get("data_sha256"),
        "texts_sha256": m.get("texts_sha256"),
    }


def same_test_data(ea: dict, eb: dict) -> str | None:
    """Why two evaluations were not measured on the same test data (None: they were): the texts'
    hash where both have it (the same rows of a file, in order), else the data file's."""
    for key, what in (("texts_sha256", "texts"), ("data_sha256", "data file")):
        if ea[key] and eb[key]:
            return None if ea[key] == eb[key] else f"their test {what} differ (sha256)"
    return "they name no common hash of their test data"


def compare(a, b, metric: str | None = None, n_boot: int = 2000, seed: int = 0) -> dict:
    """A minus B on the same test rows (refused when their rows or true labels differ)."""
    ea, eb = read_evaluation(a), read_evaluation(b)
    other = same_test_data(ea, eb)
    if other:
        raise InputError(
            f"{a} and {b} were not evaluated on the same test data ({other}): evaluate both models on "
            "one test set"
        )
    if ea["lines"] != eb["lines"] or ea["true"] != eb["true"]:
        raise InputError(
            f"{a} and {b} were not evaluated on the same test rows (their lines or true labels differ): "
            "evaluate both models on one test set"
        )
    if ea["labels"] != eb["labels"]:
        raise InputError(f"{a} answers {ea['labels']}, {b} {eb['labels']}: compare models of one task")
    labels = ea["labels"]
    code = {n: i for i, n in enumerate(labels)}
    unknown = sorted({x for x in ea["pred"] + eb["pred"] + ea["true"] if x not in code})
    if unknown:
        raise InputError(f"labels {unknown[:3]} are not among {labels}: the folders are damaged")
    y, pa, pb = (np.array([code[x] for x in v], dtype=np.int64) for v in (ea["true"], ea["pred"], eb["pred"]))
    metric = metric or ea["metric"]
    return {
        "a": {k: ea[k] for k in ("folder", "model")},
        "b": {k: eb[k] for k in ("folder", "model")},
        "n": int(len(y)),
        "labels": labels,
        **paired_bootstrap(metric, y, pa, pb, labels, n_boot, seed),
        "answers_agree": float((pa == pb).mean()) if len(y) else 1.0,
        "mcnemar": mcnemar(pa == y, pb == y),
    }
