"""The page for your own labelled tweets (any label set): each model beside TF-IDF LR trained on the
same training file and the majority class, by the task's metric with its bootstrap interval,
accuracy and per-class F1, with McNemar's paired test of each model against each baseline; for the
TweetEval tasks, the published test figures too."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from tinysent.apps.report.baselines import PUBLISHED_TWEETEVAL_TASKS, TfidfLogReg3, mcnemar


class MajorityClass:
    name = "majority class"

    def fit(self, texts, y):
        self.c = int(np.bincount(y).argmax())
        return self

    def predict(self, texts) -> np.ndarray:
        return np.full(len(texts), self.c)


def labelled_report(
    model_dirs: list[str],
    test_path,
    out,
    train_path,
    split: str = "test",
    metric: str | None = None,
    columns: dict | None = None,
) -> dict:
    """Score every model and the two baselines on ``test_path`` (``split`` of a TweetEval folder);
    write report.json, report.md and report.html to ``out``."""
    from tinysent.core.errors import InputError
    from tinysent.core.metrics import class_metrics
    from tinysent.data.labelled import read_labelled
    from tinysent.runtime.predictor import load

    if train_path is None:
        raise InputError("a report on labelled data needs --train-data: the baselines are trained on it")
    columns = columns or {}
    predictors = [load(m) for m in model_dirs]
    names = tuple(predictors[0].meta.labels)
    for m, p in zip(model_dirs, predictors):
        if tuple(p.meta.labels) != names:
            raise InputError(f"{m} answers {p.meta.labels}, not {list(names)}: compare models of one task")
    test = read_labelled(test_path, split, names=names, **columns)
    train = read_labelled(train_path, "train", names=names, **columns).deduplicated()
    metric = metric or (predictors[0].meta.config or {}).get("metric") or "macro_f1"
    preds: dict[str, np.ndarray] = {}
    for m, p in zip(model_dirs, predictors):
        probs, _ = p.proba(test.texts)
        preds[f"tinysent: {Path(m).name}"] = p.labels.classes(probs)
    baselines = (TfidfLogReg3.for_metric(metric), MajorityClass())
    for b in baselines:
        preds[b.name] = np.asarray(b.fit(train.texts, train.labels).predict(test.texts), dtype=int)
    y = test.labels
    rows = []
    for system, pred in preds.items():
        m = class_metrics(y, pred, names, metric=metric)
        row = {
            "system": system,
            "score": m["score"],
            "score_ci95": m["score_ci95"],
            "accuracy": m["accuracy"],
            "f1": {k: v["f1"] for k, v in m["per_class"].items()},
            "confusion_matrix": m["confusion_matrix"]["rows_true_cols_pred"],
        }
        if system.startswith("tinysent: "):
            row["mcnemar"] = {b.name: mcnemar(pred == y, preds[b.name] == y) for b in baselines}
        rows.append(row)
    task = Path(test_path).name if Path(test_path).is_dir() else None
    summary = {
        "test": test.source,
        "split": split,
        "n": int(len(y)),
        "labels": list(names),
        "metric": metric,
        "train": train.source,
        "baseline_train_rows": len(train),
        "systems": rows,
        "published": PUBLISHED_TWEETEVAL_TASKS.get(task) if split == "test" else None,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(markdown(summary))
    (out / "report.html").write_text(
        "<!doctype html><meta charset=utf-8><title>tinysent report</title><pre>"
        + html.escape(markdown(summary))
        + "</pre>"
    )
    summary["lines"] = [
        f"{r['system']:<60} {metric} {r['score']:.3f} [{r['score_ci95'][0]:.3f}, {r['score_ci95'][1]:.3f}]"
        for r in rows
    ]
    return summary


def markdown(s: dict) -> str:
    labels = s["labels"]
    md = [
        f"# {s['test']}, n = {s['n']}: {s['metric']}",
        "",
        f"| system | {s['metric']} (95 % CI) | accuracy | F1 {' / '.join(labels)} "
        "| vs TF-IDF LR (McNemar p) |",
        "|---|---|---|---|---|",
    ]
    for r in s["systems"]:
        lo, hi = r["score_ci95"]
        f1 = " / ".join(f"{r['f1'][k]:.2f}" for k in labels)
        mc = next((v for k, v in r.get("mcnemar", {}).items() if k.startswith(TfidfLogReg3.name)), None)
        vs = f"{mc['a_only']} vs {mc['b_only']} right alone, p = {mc['p_value']:.2g}" if mc else "–"
        md.append(
            f"| {r['system']} | **{r['score']:.3f}** ({lo:.3f}–{hi:.3f}) | {r['accuracy']:.1%} | {f1} "
            f"| {vs} |"
        )
    for name, v in (s.get("published") or {}).items():
        md.append(f"| published: {name} | {v / 100:.3f} | – | – | – |")
    md += [
        "",
        f"Baselines trained on {s['train']} ({s['baseline_train_rows']:,} rows after removing duplicates). "
        "The interval is a percentile bootstrap over the test rows (1,000 resamples, seed 0).",
    ]
    return "\n".join(md) + "\n"
