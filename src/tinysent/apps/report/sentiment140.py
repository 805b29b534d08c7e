"""The Sentiment140 comparison page: models and baselines on the same test tweets."""

from __future__ import annotations

import base64
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinysent.apps.plots import pyplot
from tinysent.apps.report.baselines import Majority, TfidfLogReg, Vader, mcnemar, three_way_accuracy
from tinysent.apps.report.pages import html_page, markdown_page
from tinysent.core.labels import DEFAULT_BAND
from tinysent.core.metrics import binary_metrics, expected_calibration_error
from tinysent.data import sentiment140 as D


@dataclass
class System:
    name: str
    p_pos: np.ndarray  # on every test row (neutral included)
    kind: str  # "model" | "baseline"
    threshold: float = 0.5  # positive when p_pos >= threshold: a model's own (tinysent.json), else 0.5


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _plots(
    systems: list[System], y: np.ndarray, pol: np.ndarray, binary: np.ndarray, lengths
) -> dict[str, str]:
    from sklearn.metrics import roc_curve

    plt = pyplot()
    out = {}
    n = len(systems)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.0), squeeze=False)
    for ax, s in zip(axes[0], systems):
        m = binary_metrics(y, s.p_pos[binary], s.threshold)
        cm = np.array(m["confusion_matrix"]["rows_true_cols_pred"])
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
        ax.set_xticks([0, 1], ["neg", "pos"])
        ax.set_yticks([0, 1], ["neg", "pos"])
        ax.set_title(f"{s.name[:28]}\nacc {m['accuracy']:.1%}", fontsize=8)
    out["confusion"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    for s in systems:
        if len(set(s.p_pos[binary].round(6))) > 1:
            fpr, tpr, _ = roc_curve(y, s.p_pos[binary])
            ax.plot(fpr, tpr, label=s.name[:40])
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7)
    out["roc"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot([0.5, 1], [0.5, 1], "--", color="grey", label="perfect calibration")
    for s in systems:
        ece, table = expected_calibration_error(y, s.p_pos[binary])
        if table:
            ax.plot(
                [t["confidence"] for t in table],
                [t["accuracy"] for t in table],
                "o-",
                label=f"{s.name[:30]} (ECE {ece:.3f})",
            )
    ax.set_xlabel("confidence of the predicted class")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    out["reliability"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    th = np.linspace(0.05, 0.95, 91)
    for s in systems:
        ax.plot(th, [((s.p_pos[binary] >= t) == y).mean() for t in th], label=s.name[:40])
    ax.set_xlabel("decision threshold on P(positive)")
    ax.set_ylabel("binary accuracy")
    ax.legend(fontsize=7)
    out["threshold"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    widths = np.linspace(0, 0.9, 46)
    for s in systems:
        ax.plot(
            widths,
            [three_way_accuracy(pol, s.p_pos, (0.5 - w / 2, 0.5 + w / 2)) for w in widths],
            label=s.name[:40],
        )
    ax.axvline(DEFAULT_BAND[1] - DEFAULT_BAND[0], ls=":", color="grey", label="default band")
    ax.set_xlabel("neutral band width around 0.5")
    ax.set_ylabel(f"3-way accuracy (n={len(pol)})")
    ax.legend(fontsize=7)
    out["neutral"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.hist(lengths, bins=range(0, max(lengths) + 2), color="C0")
    ax.set_xlabel("tokens per test tweet (with [CLS] and [SEP])")
    ax.set_ylabel("tweets")
    out["lengths"] = _png(fig)
    return out


def build_report(
    model_dirs: list[str],
    test_path,
    out,
    train_path=None,
    baseline_max_train: int | None = None,
    progress: bool = True,
) -> dict:
    """Write ``out/report.html`` (self-contained) and ``out/report.md`` plus ``out/report.json``."""
    from tinysent.core.normalize import Normalizer
    from tinysent.runtime.predictor import load

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    file, member = D.resolve(test_path, "test")
    test = D.read(file, member=member)
    pol = test.polarity
    binary = pol != D.Polarity.NEUTRAL
    y = (pol[binary] == D.Polarity.POSITIVE).astype(int)
    systems: list[System] = []
    predictors = []
    seed_groups = []
    for d in model_dirs:
        seeds = sorted(Path(d).glob("seed-*/config.json"))
        if seeds:  # a `tinysent train --seeds N` folder: every seed is scored, the page shows mean ± std
            group = []
            for c in seeds:
                p = load(c.parent)
                predictors.append(p)
                group.append(
                    System(
                        f"{Path(d).name}/{c.parent.name}",
                        p.positive_proba(test.texts)[0],
                        "model",
                        p.threshold,
                    )
                )
            systems += group
            seed_groups.append((Path(d).name, group))
            continue
        p = load(d)
        predictors.append(p)
        name = Path(d).name if Path(d).name != "tinysent-tinybert-4l" else "shipped tinybert-4l"
        systems.append(System(name, p.positive_proba(test.texts)[0], "model", p.threshold))
    train = None
    if train_path is not None:
        train = D.load(train_path, "train").polar()
        if baseline_max_train:
            train = train.subset(D.stratified_sample(train.polarity, baseline_max_train, 0))
    for cls in (Majority, Vader, TfidfLogReg):
        if cls is not Vader and train is None:
            continue
        try:
            b = cls().fit(
                train.texts if train is not None else [], train.classes if train is not None else []
            )
        except ImportError:
            logging.getLogger(__name__).warning(
                "%s left out of the report: pip install 'tinysent[baselines]'", cls.name
            )
            continue
        name = cls.name + (f" (trained on {len(train):,} tweets)" if cls is TfidfLogReg else "")
        systems.append(System(name, b.predict_proba(test.texts), "baseline"))

    rows = []
    for s in systems:
        m = binary_metrics(y, s.p_pos[binary], s.threshold)
        ece, _ = expected_calibration_error(y, s.p_pos[binary])
        rows.append(
            {
                "system": s.name,
                "kind": s.kind,
                "n": m["n"],
                "accuracy": m["accuracy"],
                "ci95": m["accuracy_ci95"],
                "macro_f1": m["macro_f1"],
                "roc_auc": m["roc_auc"],
                "ece": ece,
                "recall": {k: v["recall"] for k, v in m["per_class"].items()},
                "precision": {k: v["precision"] for k, v in m["per_class"].items()},
                "three_way_accuracy": three_way_accuracy(pol, s.p_pos, DEFAULT_BAND),
            }
        )
    correct = {s.name: ((s.p_pos[binary] >= s.threshold).astype(int) == y) for s in systems}
    pairs = []
    for i, a in enumerate(systems):
        for b in systems[i + 1 :]:
            pairs.append({"a": a.name, "b": b.name, **mcnemar(correct[a.name], correct[b.name])})
    mistakes = []
    if predictors:
        s, norm = systems[0], Normalizer(predictors[0].meta.normalizer_config)
        pb = s.p_pos[binary]
        wrong = np.flatnonzero((pb >= s.threshold).astype(int) != y)
        conf = np.abs(pb[wrong] - s.threshold)
        texts = [t for t, k in zip(test.texts, binary) if k]
        for j in wrong[np.argsort(-conf)][:15]:
            mistakes.append(
                {
                    "true": D.BINARY_LABELS[y[j]],
                    "p_positive": float(pb[j]),
                    "text": texts[j],
                    "normalised": norm(texts[j]),
                }
            )
        lengths = [len(x) for x in predictors[0].token_ids(test.texts)[0]]
    else:
        lengths = [len(t.split()) for t in test.texts]
    plots = _plots(systems, y, pol, binary, lengths)
    multi = []
    for name, group in seed_groups:
        accs = [((g.p_pos[binary] >= g.threshold).astype(int) == y).mean() for g in group]
        multi.append(
            {
                "model": name,
                "seeds": len(group),
                "accuracy_mean": float(np.mean(accs)),
                "accuracy_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
            }
        )
    summary = {
        "multi_seed": multi,
        "test": str(file),
        "n_binary": int(binary.sum()),
        "n_all": len(pol),
        "default_band": DEFAULT_BAND,
        "systems": rows,
        "mcnemar": pairs,
        "confident_mistakes": mistakes,
    }
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(markdown_page(summary))
    (out / "report.html").write_text(html_page(summary, plots))
    return summary
