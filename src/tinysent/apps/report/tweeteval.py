"""The TweetEval page: the 3-class benchmark, models beside VADER, TF-IDF LR and published figures."""

from __future__ import annotations

import logging

from tinysent.apps.report.baselines import PUBLISHED_TWEETEVAL, TfidfLogReg3, Vader3
from tinysent.apps.report.page import Page, Scored, made_notes, system_name, write_page
from tinysent.data import sentiment140 as D


def tweeteval_report(
    model_dirs: list[str], folder, out, train_path=None, split: str = "test", curve: dict | None = None
) -> dict:
    """One page for TweetEval: every model, VADER, TF-IDF LR trained on the SemEval material (minus
    TweetEval-validation overlaps) and the published figures, by macro recall (the official metric),
    with accuracy on the positive/negative rows as the task's own column."""
    from tinysent.core.labels import SENTIMENT3
    from tinysent.core.normalize import Normalizer
    from tinysent.data.semeval import classes3, drop_overlap, read_semeval, read_tweeteval
    from tinysent.runtime.predictor import load

    test = read_tweeteval(folder, split)
    y = classes3(test.polarity)
    systems, normalise = [], None
    for m in model_dirs:
        p = load(m)
        probs, _ = p.proba(test.texts)
        pred, _ = p.labels.sentiment3(probs)
        # a 3-class model's probabilities, in the page's label order; a binary model has none for neutral
        cols = [p.meta.labels.index(n) for n in SENTIMENT3] if set(SENTIMENT3) <= set(p.meta.labels) else None
        systems.append(Scored(system_name(m), pred, probs[:, cols] if cols else None))
        normalise = normalise or Normalizer(p.meta.normalizer_config)
    try:
        systems.append(Scored(Vader3.name, Vader3().predict(test.texts), kind="baseline"))
    except ImportError:
        logging.getLogger(__name__).warning("VADER left out of the report: pip install 'tinysent[baselines]'")
    baseline_n = None
    if train_path is not None:
        hand = read_semeval(train_path)
        hand, _ = drop_overlap(hand, read_tweeteval(folder, "val").texts, Normalizer())
        hand = D.deduplicate(hand, drop_duplicates=True, drop_conflicts=True)
        baseline_n = len(hand)
        tfidf = TfidfLogReg3.for_metric("macro_recall").fit(hand.texts, classes3(hand.polarity))
        systems.append(
            Scored(
                tfidf.name + " (SemEval training material)",
                tfidf.predict(test.texts),
                tfidf.predict_proba(test.texts, len(SENTIMENT3)),
                "baseline",
            )
        )
    pn = y != 1
    for s in systems:
        s.extra["posneg_rows_accuracy"] = float((s.pred[pn] == y[pn]).mean())
    page = Page(
        test=test.source,
        split=split,
        labels=SENTIMENT3,
        metric="macro_recall",
        y=y,
        texts=test.texts,
        systems=systems,
        title=f"TweetEval sentiment ({split}, n = {len(y):,}): macro recall, the official metric",
        intro="A binary model answers neutral by the band (0.35, 0.65) on P(positive); accuracy on the "
        "positive/negative rows counts a neutral answer on them as wrong. Published figures: the "
        "TweetEval paper and leaderboard (test split).",
        columns=[("posneg_rows_accuracy", "accuracy on pos/neg rows", "{:.1%}")],
        published=PUBLISHED_TWEETEVAL if split == "test" else None,
        curve=curve,
        made=made_notes(model_dirs),
        normalise=normalise,
    )
    return write_page(page, out, baseline_train_rows=baseline_n)
