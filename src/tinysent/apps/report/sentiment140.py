"""The Sentiment140 comparison page: models and baselines on the same test tweets."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinysent.apps.plots import pyplot
from tinysent.apps.report.baselines import (
    PUBLISHED_SENTIMENT140,
    Majority,
    TfidfLogReg,
    Vader,
    three_way_accuracy,
)
from tinysent.apps.report.figures import png
from tinysent.apps.report.page import Page, Scored, Section, made_notes, system_name, write_page
from tinysent.core.labels import DEFAULT_BAND, polar
from tinysent.core.metrics import roc_auc
from tinysent.data import sentiment140 as D


@dataclass
class System:
    name: str
    p_pos: np.ndarray  # on every test row (neutral included)
    kind: str  # "model" | "baseline"
    threshold: float = 0.5  # positive when p_pos >= threshold: a model's own (tinysent.json), else 0.5


def _figures(systems: list[System], y, pol, binary, lengths) -> dict[str, tuple[str, str]]:
    """The binary task's own figures: ROC curves, accuracy across thresholds, 3-way accuracy across
    neutral band widths, and the test tweets' token lengths."""
    from sklearn.metrics import roc_curve

    plt = pyplot()
    out = {}
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for s in systems:
        if len(set(s.p_pos[binary].round(6))) > 1:
            fpr, tpr, _ = roc_curve(y, s.p_pos[binary])
            ax.plot(fpr, tpr, label=s.name[:40])
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7)
    out["roc"] = ("ROC curves", png(fig))

    fig, ax = plt.subplots(figsize=(5, 4.2))
    th = np.linspace(0.05, 0.95, 91)
    for s in systems:
        ax.plot(th, [((s.p_pos[binary] >= t) == y).mean() for t in th], label=s.name[:40])
    ax.set_xlabel("decision threshold on P(positive)")
    ax.set_ylabel("binary accuracy")
    ax.legend(fontsize=7)
    out["threshold"] = ("accuracy versus decision threshold", png(fig))

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
    out["neutral"] = ("3-way accuracy across neutral band widths", png(fig))

    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.hist(lengths, bins=range(0, max(lengths) + 2), color="C0")
    ax.set_xlabel("tokens per test tweet (with [CLS] and [SEP])")
    ax.set_ylabel("tweets")
    out["lengths"] = ("token-length histogram of the test tweets", png(fig))
    return out


def build_report(
    model_dirs: list[str],
    test_path,
    out,
    train_path=None,
    baseline_max_train: int | None = None,
    curve: dict | None = None,
) -> dict:
    """The page (:mod:`.page`) of models and baselines on Sentiment140's positive/negative test rows."""
    from tinysent.core.normalize import Normalizer
    from tinysent.runtime.predictor import load

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
                        system_name(d, c.parent.name),
                        p.positive_share(test.texts)[0],
                        "model",
                        p.threshold,
                    )
                )
            systems += group
            seed_groups.append((Path(d).name, group))
            continue
        p = load(d)
        predictors.append(p)
        systems.append(System(system_name(d), p.positive_share(test.texts)[0], "model", p.threshold))
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

    texts = [t for t, k in zip(test.texts, binary) if k]
    scored = [
        Scored(
            s.name,
            polar(s.p_pos[binary], s.threshold),
            np.c_[1 - s.p_pos[binary], s.p_pos[binary]],
            s.kind,
            {
                "roc_auc": roc_auc(y, s.p_pos[binary]),
                "three_way_accuracy": three_way_accuracy(pol, s.p_pos, DEFAULT_BAND),
                "threshold": s.threshold,
            },
        )
        for s in systems
    ]
    if predictors:
        lengths = [len(x) for x in predictors[0].token_ids(test.texts)[0]]
        normalise = Normalizer(predictors[0].meta.normalizer_config)
    else:
        lengths, normalise = [len(t.split()) for t in test.texts], None
    multi = []
    for name, group in seed_groups:
        accs = [(polar(g.p_pos[binary], g.threshold) == y).mean() for g in group]
        multi.append(
            {
                "model": name,
                "seeds": len(group),
                "accuracy_mean": float(np.mean(accs)),
                "accuracy_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
            }
        )
    seeds = Section(
        "seeds",
        "Several seeds",
        ["model", "seeds", "accuracy mean ± std"],
        [[m["model"], str(m["seeds"]), f"{m['accuracy_mean']:.1%} ± {m['accuracy_std']:.1%}"] for m in multi],
    )
    page = Page(
        test=str(file),
        split="test",
        labels=tuple(D.BINARY_LABELS),
        metric="accuracy",
        y=y,
        texts=texts,
        systems=scored,
        title=f"tinysent report: {int(binary.sum())} binary Sentiment140 test tweets",
        intro=f"The {int(pol.size - binary.sum())} neutral rows are left out of the table (a binary task); "
        f"3-way accuracy scores all {len(pol)} rows, neutral when {DEFAULT_BAND[0]} < P(positive) < "
        f"{DEFAULT_BAND[1]} (a band fixed in advance, not tuned on this test set). A model answers by "
        "its own threshold, a baseline at 0.5.",
        columns=[("roc_auc", "ROC-AUC", "{:.3f}"), ("three_way_accuracy", "3-way accuracy", "{:.1%}")],
        published=PUBLISHED_SENTIMENT140,
        sections=[seeds],
        figures=_figures(systems, y, pol, binary, lengths),
        curve=curve,
        made=made_notes(model_dirs),
        normalise=normalise,
    )
    return write_page(
        page, out, n_binary=int(binary.sum()), n_all=len(pol), default_band=DEFAULT_BAND, multi_seed=multi
    )
