"""A learning curve for your own labelled tweets: the task's metric at several training sizes, each
a model fine-tuned on that many rows (stratified, seeded) and TF-IDF LR trained on the same rows,
scored on the same held-out tweets; size 0 is the base model as it is, when it already answers the
task's labels (the shipped model on negative / neutral / positive, or on negative / positive as the
likelier of those two). It tells a user how many labels
are worth collecting."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np


def learning_curve(
    cfg, test_data, out, sizes: list[int | None], split: str = "test", progress: bool = False
) -> dict:
    """``cfg``: the :class:`~tinysent.data.config.TrainConfig` of every point (its ``max_train`` set
    per size; ``None`` in ``sizes`` = all rows); each model goes to OUT/n-SIZE. Writes curve.json,
    curve.md and curve.png to ``out``."""
    from tinysent.apps.report.baselines import TfidfLogReg3
    from tinysent.core.meta import ModelMeta
    from tinysent.core.metrics import bootstrap_ci, task_score
    from tinysent.data.labelled import read_labelled
    from tinysent.data.task import split_task
    from tinysent.runtime.predictor import load
    from tinysent.train.finetune import train
    from tinysent.train.models import resolve_base

    out = Path(out)
    full, _, _ = split_task(replace(cfg, max_train=None))
    names = full.names
    test = read_labelled(test_data, split, names=names, **cfg.read_options)

    def scored(pred) -> dict:
        return {
            "score": task_score(cfg.metric, test.labels, pred, names),
            "score_ci95": bootstrap_ci(cfg.metric, test.labels, pred, names),
        }

    def model_pred(folder) -> np.ndarray:
        p = load(folder)
        return p.labels.classes_among(p.proba(test.texts)[0], names)

    points = []
    base = resolve_base(cfg.base_model)
    if (base / "tinysent.json").exists() and set(names) <= set(ModelMeta.load(base).labels):
        points.append({"size": 0, "model": scored(model_pred(base))})
    for size in sizes:
        n = min(size or len(full), len(full))
        one = replace(cfg, max_train=n if n < len(full) else None, out=str(out / f"n-{n}"))
        rows, _, _ = split_task(one)
        summary = train(one, progress=progress)
        tfidf = TfidfLogReg3.for_metric(cfg.metric).fit(rows.texts, rows.labels).predict(test.texts)
        points.append(
            {
                "size": len(rows),
                "model": scored(model_pred(one.out)),
                "tfidf_lr": scored(np.asarray(tfidf, dtype=int)),
                "validation": summary["best"].get("val_score"),
            }
        )
    result = {
        "train": str(cfg.train_data),
        "test": test.source,
        "n_test": len(test),
        "metric": cfg.metric,
        "base": cfg.base_model,
        "epochs": cfg.epochs,
        "points": points,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "curve.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"| training rows | model {cfg.metric} (95 % CI) | TF-IDF LR |", "|---|---|---|"]
    for pt in points:
        m, t = pt["model"], pt.get("tfidf_lr")
        tf = f"{t['score']:.3f} ({t['score_ci95'][0]:.3f}–{t['score_ci95'][1]:.3f})" if t else "–"
        lo, hi = m["score_ci95"]
        md.append(f"| {pt['size']:,} | **{m['score']:.3f}** ({lo:.3f}–{hi:.3f}) | {tf} |")
    (out / "curve.md").write_text("\n".join(md) + "\n")
    plot_curve(result, out / "curve.png")
    return result


def plot_curve(result: dict, path: Path) -> None:
    """curve.png: the figure the report shows too (:func:`~tinysent.apps.report.figures.learning_curve`)."""
    import base64

    from tinysent.apps.report.figures import learning_curve

    path.write_bytes(base64.b64decode(learning_curve(result)))
