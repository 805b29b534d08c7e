"""Evaluation: honest metrics (with intervals), plots a person wants, and a smoke table.

With 359 binary test tweets one tweet is 0.28 points, so every accuracy carries its Wilson 95 %
interval and its n.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinysent.apps.plots import plot_confusion, plot_roc, plot_training
from tinysent.core.files import file_sha256, texts_sha256
from tinysent.core.labels import DEFAULT_BAND
from tinysent.core.metrics import binary_metrics, class_metrics, wilson_interval  # noqa: F401 (re-exported)
from tinysent.data import sentiment140 as D
from tinysent.train.export.parity import SMOKE_SENTENCES

three_class_metrics = class_metrics  # TweetEval's 3 classes are the default label set


def three_class_predictions(
    predictor, texts: list[str], batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predicted class index 0/1/2, binary answer, truncated?) from one pass
    (:meth:`LabelModel.sentiment3`)."""
    p, truncated = predictor.proba(texts, batch_size)
    pred, share = predictor.labels.sentiment3(p)
    return pred, share, truncated


def evaluate_tweeteval(
    model_dir, folder, out: Path, split: str = "test", batch_size: int = 256, backend: str = "auto"
) -> dict:
    """TweetEval sentiment: 3-class metrics (macro recall, the official one, first), confusion matrix."""
    from tinysent.data.semeval import LABELS3, classes3, read_tweeteval
    from tinysent.runtime.predictor import load

    corpus = read_tweeteval(folder, split)
    predictor = load(model_dir, backend=backend)
    y = classes3(corpus.polarity)
    pred, share, truncated = three_class_predictions(predictor, corpus.texts, batch_size)
    metrics = three_class_metrics(y, pred)
    metrics.update(
        model=str(model_dir),
        **scored_by(predictor),
        data=corpus.source,
        split=split,
        data_sha256=file_sha256(corpus.source),
        texts_sha256=texts_sha256(corpus.texts),
        truncated=int(truncated.sum()),
        how="most probable of 3 classes"
        if predictor.three_class
        else f"binary model, neutral band {DEFAULT_BAND}",
    )
    # positive/negative rows alone, scored by P(pos) vs P(neg) (comparable with binary systems)
    pn = y != 1
    threshold = predictor.labels.binary_threshold  # P(pos) vs P(neg), or a binary model's own
    metrics["binary_rows"] = binary_metrics((y[pn] == 2).astype(int), share[pn], threshold)
    title = (
        f"{Path(model_dir).name}: TweetEval {split}, n={len(y)}, macro recall {metrics['macro_recall']:.3f}"
    )
    write_class_outputs(out, metrics, corpus.lines, y, pred, LABELS3, title)
    return metrics


def write_predictions(out: Path, metrics: dict, rows) -> None:
    """predictions.jsonl, then metrics.json naming its sha256 (``compare`` refuses a predictions file
    that is not the one its metrics were computed from)."""
    from tinysent.core.files import file_sha256

    with open(out / "predictions.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    metrics["predictions_sha256"] = file_sha256(out / "predictions.jsonl")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def write_class_outputs(out: Path, metrics: dict, lines, y, pred, names, title: str) -> None:
    """metrics.json, predictions.jsonl (line numbers, not texts: result folders get shared, the data's
    text stays in the data) and the confusion matrix of a class-labelled test set."""
    out.mkdir(parents=True, exist_ok=True)
    rows = zip(np.asarray(lines).tolist(), np.asarray(y).tolist(), pred.tolist())
    write_predictions(
        out, metrics, ({"line": line, "true": names[yy], "pred": names[pp]} for line, yy, pp in rows)
    )
    plot_confusion(
        metrics["confusion_matrix"]["rows_true_cols_pred"], list(names), out / "confusion_matrix.png", title
    )


def evaluate_labelled(
    model_dir,
    path,
    out: Path,
    split: str = "test",
    batch_size: int = 256,
    backend: str = "auto",
    metric: str | None = None,
    columns: dict | None = None,
) -> dict:
    """Your own labelled tweets, any label set (the model's): ``metric`` (default: the one the model
    was selected on, else macro-F1) with a bootstrap interval, accuracy, per-class P/R/F1, confusion
    matrix, decided as :func:`predict` decides (a two-label model by its threshold)."""
    from tinysent.data.labelled import read_labelled
    from tinysent.runtime.predictor import load

    predictor = load(model_dir, backend=backend)
    names = tuple(predictor.meta.labels)
    data = read_labelled(path, split, names=names, **(columns or {}))
    data.check_usable(" to evaluate on")
    metric = metric or (predictor.meta.config or {}).get("metric") or "macro_f1"
    probs, truncated = predictor.proba(data.texts, batch_size)
    pred = predictor.labels.classes(probs)
    metrics = class_metrics(data.labels, pred, names, metric=metric)
    metrics.update(
        model=str(model_dir),
        **scored_by(predictor),
        data=data.source,
        split=split,
        **({"data_sha256": file_sha256(data.source)} if Path(data.source).is_file() else {}),
        texts_sha256=texts_sha256(data.texts),
        rejected_rows=len(data.problems),
        rejected_first=[str(x) for x in data.problems[:20]],
        truncated=int(truncated.sum()),
        how=f"P({names[1]}) >= {predictor.labels.threshold:g}" if len(names) == 2 else "most probable label",
    )
    title = f"{Path(model_dir).name}: n={len(pred)}, {metric} {metrics['score']:.3f}"
    write_class_outputs(out, metrics, data.lines, data.labels, pred, names, title)
    plot_training(Path(model_dir) / "train_log.jsonl", out / "training_curves.png")
    return metrics


# ---------------------------------------------------------------------------------------------


def evaluate(
    model_dir: str | Path,
    data_path: str | Path | None,
    out: str | Path,
    batch_size: int = 256,
    split: str = "test",
    backend: str = "auto",
    metric: str | None = None,
    columns: dict | None = None,
    task: str = "auto",
    card: bool = False,
) -> dict:
    """Score a test set; write metrics.json, plots and (Sentiment140) the smoke table. How the rows
    are read is decided once (:func:`~tinysent.data.task_kind.resolve_test_task`: ``task``, else the
    model's task and the file): your own labelled tweets :func:`evaluate_labelled` (``metric``,
    ``columns``: its text_column / label_column / mapping); a TweetEval sentiment folder 3-class
    metrics (``split``: test or val); Sentiment140 its binary rows' metrics (a 3-class model answers
    them by P(pos) vs P(neg)). ``backend``: auto measures what ``load`` runs (for the shipped model
    the default path: int8 ONNX with its fp32 recheck), torch PyTorch. ``card``: also record the
    score on the model's card (:func:`record_on_card`)."""
    from tinysent.core.meta import model_meta
    from tinysent.data.task_kind import model_task, resolve_test_task

    out = Path(out)  # made once the data is read and the model scored it: a failed run leaves no folder
    kind = resolve_test_task(
        data_path, [model_task(model_meta(model_dir))], task, (columns or {}).get("mapping")
    )
    if kind == "labelled":
        m = evaluate_labelled(model_dir, data_path, out, split, batch_size, backend, metric, columns)
    elif kind == "tweeteval":
        m = evaluate_tweeteval(model_dir, data_path, out, split, batch_size, backend)
    else:
        m = evaluate_sentiment140(model_dir, data_path, out, batch_size, backend)
    if card:
        record_on_card(model_dir, kind, m)
    return m


CARD_SCORES = {  # what a card records of each kind of test: (key, the metric)
    "tweeteval": ("tweeteval_{split}_macro_recall", "macro_recall"),
    "sentiment140": ("sentiment140_test_accuracy", "accuracy"),
    "labelled": ("{data}_{split}_{metric}", "score"),
}


def record_on_card(model_dir, kind: str, m: dict) -> str:
    """The score of an evaluation on the model's card (``tinysent.json: card``: scores, n, 95 %
    interval, and which data, backend and date), as a model package shows it (``tinysent models``);
    returns the key it was recorded under."""
    import datetime

    from tinysent.core.meta import ModelMeta

    key_form, metric = CARD_SCORES[kind]
    key = key_form.format(split=m.get("split", "test"), data=Path(m["data"]).stem, metric=m.get("metric"))
    meta = ModelMeta.load(model_dir)
    ci = m.get("score_ci95") if metric == "score" else m.get(f"{metric}_ci95")
    meta.card.setdefault("scores", {})[key] = m[metric]
    meta.card.setdefault("n", {})[key] = m["n"]
    meta.card.setdefault("ci95", {})[key] = ci
    when = datetime.date.today().isoformat()
    meta.card.setdefault("measured", {})[key] = (
        f"tinysent evaluate on {Path(m['data']).name} ({m['backend']}, {when})"
    )
    meta.save(model_dir)
    return key


def evaluate_sentiment140(model_dir, data_path, out, batch_size: int = 256, backend: str = "auto") -> dict:
    """Sentiment140's positive/negative test rows: accuracy (Wilson interval), ROC, the smoke table."""
    from tinysent.runtime.predictor import load

    out = Path(out)  # made once the data is read and the model scored it: a failed run leaves no folder
    file, member = D.resolve(data_path, "test")
    corpus = D.read(file, member=member)
    binary = corpus.polar()
    if len(binary) == 0:
        raise D.DataError(f"{file} has no positive or negative rows to evaluate on")
    predictor = load(model_dir, backend=backend)
    p, truncated = predictor.positive_share(binary.texts, batch_size)
    y = binary.classes
    metrics = binary_metrics(y, p, predictor.threshold)
    metrics.update(
        model=str(model_dir),
        **scored_by(predictor),
        data=str(file) + (f"::{member}" if member else ""),
        data_sha256=file_sha256(file),
        texts_sha256=texts_sha256(binary.texts),
        excluded_neutral=corpus.n_neutral,
        malformed_rows=len(corpus.problems),
        truncated=int(truncated.sum()),
    )
    smoke = predictor.predict(SMOKE_SENTENCES)
    metrics["smoke"] = [{"text": t, **r} for t, r in zip(SMOKE_SENTENCES, smoke)]
    out.mkdir(parents=True, exist_ok=True)
    # Line numbers, not texts: result folders get committed and shared, the data's text stays in the data.
    rows = zip(binary.lines.tolist(), y.tolist(), p.tolist())
    write_predictions(
        out, metrics, ({"line": line, "true": D.BINARY_LABELS[yy], "positive": pp} for line, yy, pp in rows)
    )
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


def scored_by(predictor) -> dict:
    """What answered: backend, weight file and recheck margin (so a result names the path it measured)."""
    file = getattr(predictor.backend, "file", None)
    return {
        "backend": predictor.backend.name,
        "weights": file.name if file is not None else "model.safetensors",
        "recheck_margin": predictor.recheck_margin,
    }


def smoke_table(rows: list[dict]) -> str:
    lines = ["| text | label | P(positive) |", "|---|---|---|"]
    lines += [f"| {r['text']} | {r['label']} | {r['positive']:.3f} |" for r in rows]
    return "\n".join(lines) + "\n"
