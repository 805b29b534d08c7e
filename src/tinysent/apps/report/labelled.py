"""The page for your own labelled tweets (any label set): each model beside TF-IDF LR trained on the
same training file and the majority class, by the task's metric with its bootstrap interval,
accuracy and per-class F1, McNemar's paired tests; for the TweetEval tasks, the published test
figures too."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinysent.apps.report.baselines import PUBLISHED_TWEETEVAL_TASKS, TfidfLogReg3
from tinysent.apps.report.page import Page, Scored, made_notes, system_name, write_page


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
    curve: dict | None = None,
) -> dict:
    """Score every model and the two baselines on ``test_path`` (``split`` of a TweetEval folder);
    write the page (:mod:`.page`) to ``out``."""
    from tinysent.core.errors import InputError
    from tinysent.core.normalize import Normalizer
    from tinysent.data.labelled import read_labelled
    from tinysent.runtime.predictor import load

    if train_path is None:
        raise InputError("a report on labelled data needs --train-data: the baselines are trained on it")
    columns = columns or {}
    predictors = [load(m) for m in model_dirs]
    names = tuple(predictors[0].meta.labels)
    for m, p in zip(model_dirs, predictors):
        if not set(names) <= set(p.meta.labels):
            raise InputError(f"{m} answers {p.meta.labels}, not {list(names)}: compare models of one task")
    test = read_labelled(test_path, split, names=names, **columns)
    train = read_labelled(train_path, "train", names=names, **columns).deduplicated()
    metric = metric or (predictors[0].meta.config or {}).get("metric") or "macro_f1"
    systems = []
    for m, p in zip(model_dirs, predictors):
        # a model with more labels (the shipped one beside a negative / positive task) answers the
        # likeliest of the task's labels; its probabilities over them, renormalised, for calibration
        probs, _ = p.proba(test.texts)
        among = p.labels.proba_among(probs, names)
        systems.append(Scored(system_name(m), p.labels.classes_among(probs, names), among))
    tfidf = TfidfLogReg3.for_metric(metric).fit(train.texts, train.labels)
    pred = np.asarray(tfidf.predict(test.texts), dtype=int)
    systems.append(Scored(tfidf.name, pred, tfidf.predict_proba(test.texts, len(names)), "baseline"))
    majority = MajorityClass().fit(train.texts, train.labels)
    systems.append(Scored(majority.name, majority.predict(test.texts), kind="baseline"))
    task = Path(test_path).name if Path(test_path).is_dir() else None
    page = Page(
        test=test.source,
        split=split,
        labels=names,
        metric=metric,
        y=test.labels,
        texts=test.texts,
        systems=systems,
        title=f"{Path(test.source).name}, n = {len(test):,}: {metric}",
        intro=f"Baselines trained on {train.source} ({len(train):,} rows after removing duplicates).",
        published=PUBLISHED_TWEETEVAL_TASKS.get(task) if split == "test" else None,
        curve=curve,
        made=made_notes(model_dirs),
        normalise=Normalizer(predictors[0].meta.normalizer_config),
    )
    return write_page(page, out, train=train.source, baseline_train_rows=len(train))
