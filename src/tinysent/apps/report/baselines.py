"""Baselines beside the models (majority class, VADER, TF-IDF logistic regression, in binary and
3-class form), the published TweetEval figures, and the paired statistics a comparison needs."""

from __future__ import annotations

import numpy as np

from tinysent.core.labels import SENTIMENT2, LabelModel
from tinysent.core.metrics import mcnemar  # noqa: F401 (re-exported: the reports' paired test)


def three_way_accuracy(polarity: np.ndarray, p_pos: np.ndarray, band: tuple[float, float]) -> float:
    """Accuracy on all rows (polarity codes 0 / 2 / 4) of P(positive) read through a neutral band: a
    baseline's P(positive) decided like a binary model's (:class:`LabelModel`, threshold 0.5)."""
    code = {"negative": 0, "neutral": 2, "positive": 4}
    p = np.asarray(p_pos, float)
    said = LabelModel(SENTIMENT2).labels(np.c_[1 - p, p], band=tuple(band))
    pred = np.array([code[lab] for lab in said])
    return float((pred == np.asarray(polarity)).mean())


class Majority:
    name = "majority class"

    def fit(self, texts, y):
        self.p = float(np.mean(y) >= 0.5)
        return self

    def predict_proba(self, texts):
        return np.full(len(texts), self.p)


class Vader:
    name = "VADER"

    def fit(self, texts, y):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.sia = SentimentIntensityAnalyzer()
        return self

    def predict_proba(self, texts):
        # compound in [-1, 1] → [0, 1]; 0 (no sentiment words) sits on the threshold, counted positive.
        return np.array([(self.sia.polarity_scores(t)["compound"] + 1) / 2 for t in texts])


class TfidfLogReg:
    name = "TF-IDF uni+bigram logistic regression"

    def fit(self, texts, y):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from tinysent.core.normalize import Normalizer

        self.norm = Normalizer()
        self.vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=2_000_000)
        x = self.vec.fit_transform(self.norm.many(texts))
        self.clf = LogisticRegression(C=1.0, max_iter=200, solver="liblinear").fit(x, y)
        return self

    def predict_proba(self, texts):
        return self.clf.predict_proba(self.vec.transform(self.norm.many(texts)))[:, 1]


#: Published TweetEval sentiment test figures (macro recall, %): the TweetEval paper (Barbieri et al.,
#: Findings of EMNLP 2020) and its leaderboard, as listed in the data folder's README.
#: The notebook tinysent started from: TinyBERT 4L-312D fine-tuned with TensorFlow on a TPU on the
#: cleaned Sentiment140 training tweets, 298 of the 358 binary test tweets it kept right (83.24 %).
PUBLISHED_SENTIMENT140 = {"the notebook tinysent started from (TinyBERT 4L, TensorFlow, TPU)": (298, 358)}

PUBLISHED_TWEETEVAL = {
    "BLSTM": 58.3,
    "SVM": 62.9,
    "FastText": 62.9,
    "RoBERTa trained on tweets from scratch": 69.1,
    "RoBERTa-base": 71.3,
    "RoBERTa-base further pretrained on tweets": 72.6,
    "BERTweet": 73.4,
}


#: Published TweetEval test figures of the other tasks (×100: emotion and offensive macro-F1, irony
#: F1 of the irony class), from the tweeteval-tasks data folder's README (the TweetEval leaderboard).
_TASK_SYSTEMS = (
    "SVM",
    "FastText",
    "BLSTM",
    "RoBERTa trained on tweets from scratch",
    "RoBERTa-base",
    "RoBERTa-base further pretrained on tweets",
    "BERTweet",
    "TimeLMs-2021",
)
PUBLISHED_TWEETEVAL_TASKS = {
    "emotion": dict(zip(_TASK_SYSTEMS, (64.7, 65.2, 66.0, 72.0, 76.1, 78.5, 79.3, 80.2))),
    "irony": dict(zip(_TASK_SYSTEMS, (61.7, 63.1, 62.8, 65.4, 59.7, 61.7, 82.1, 64.5))),
    "offensive": dict(zip(_TASK_SYSTEMS, (52.3, 73.4, 71.7, 77.1, 79.5, 80.5, 79.5, 82.2))),
}
#: Each task's official metric, as tinysent names it.
TWEETEVAL_TASK_METRICS = {"emotion": "macro_f1", "irony": "f1:irony", "offensive": "macro_f1"}


class Vader3:
    """VADER's own 3-way rule: compound >= 0.05 positive, <= -0.05 negative, else neutral."""

    name = "VADER (compound ±0.05)"

    def predict(self, texts) -> np.ndarray:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        sia = SentimentIntensityAnalyzer()
        c = np.array([sia.polarity_scores(t)["compound"] for t in texts])
        return np.where(c >= 0.05, 2, np.where(c <= -0.05, 0, 1))


class TfidfLogReg3:
    """TF-IDF uni+bigram (multinomial) logistic regression, any label set: the hand-labelled 3-class
    tweets, or a user's own training file."""

    name = "TF-IDF uni+bigram logistic regression"

    def __init__(self, balanced: bool = False):
        # A macro metric weighs every class alike: the fair baseline for it weighs them alike too
        # (class_weight="balanced"), as tinysent's --class-weights does; else a rare class is ignored.
        self.balanced = balanced
        if balanced:
            self.name = TfidfLogReg3.name + " (class-balanced)"

    @staticmethod
    def for_metric(metric: str | None) -> TfidfLogReg3:
        """The baseline fit to be compared under ``metric``: class-balanced for a macro average."""
        return TfidfLogReg3(balanced=bool(metric) and metric.startswith("macro"))

    def fit(self, texts, y):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from tinysent.core.normalize import Normalizer

        self.norm = Normalizer()
        self.vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        weight = "balanced" if self.balanced else None
        self.clf = LogisticRegression(C=1.0, max_iter=1000, class_weight=weight).fit(
            self.vec.fit_transform(self.norm.many(texts)), y
        )
        return self

    def predict(self, texts) -> np.ndarray:
        return self.clf.predict(self.vec.transform(self.norm.many(texts)))

    def predict_proba(self, texts, k: int) -> np.ndarray:
        """rows x ``k`` class probabilities (0 for a class the training rows did not have)."""
        out = np.zeros((len(texts), k))
        out[:, self.clf.classes_] = self.clf.predict_proba(self.vec.transform(self.norm.many(texts)))
        return out
