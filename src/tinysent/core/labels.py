"""Labels and decisions: the one place that says which label a model's logits get.

A model's label set comes from its tinysent.json (any names, 2 or more). The rules:

- **argmax**: a model with 3 or more labels answers its most probable label; with *class offsets*
  (chosen on validation, stored in tinysent.json) the label of largest log P(label) + offset[label].
- **threshold**: a two-label model answers ``names[1]`` when P(names[1]) >= its threshold (for the
  sentiment pair [negative, positive]: positive), else ``names[0]``; a [negative, positive] model may
  also answer neutral inside a *neutral band* (lo, hi) of P(positive).
- **binary** (one meaning only): the negative-vs-positive answer of a sentiment model, by
  P(pos) / (P(pos) + P(neg)) at 0.5 (a two-label sentiment model: its own threshold).

Each rule is also a *decision* for int8's fp32 recheck (:meth:`LabelModel.margin`): "argmax", or the
bounds on l_pos - l_neg where the label changes, so texts near a boundary can be scored again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinysent.core.errors import DataError, InputError
from tinysent.core.numerics import positive_share, softmax

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
SENTIMENT2 = (NEGATIVE, POSITIVE)
SENTIMENT3 = (NEGATIVE, NEUTRAL, POSITIVE)
# A [negative, positive] model answers 3-class questions with this band on P(positive) unless told
# otherwise, fixed a priori (never tuned on a test set; Sentiment140 has no neutral tweets to tune on).
DEFAULT_BAND = (0.35, 0.65)
# The fields of a prediction record and of a scored file's row beside the label probabilities: a label
# of one of these names would overwrite the answer or the text (``{"label": 0.6}``) or give a table two
# columns of one name, so no model may have one (refused when training data names it, and on load).
RESERVED = ("label", "text", "id", "line", "error", "empty", "truncated")


def check_label_names(names, where: str) -> None:
    """Refuse label names that a prediction record or a scored table already uses (:data:`RESERVED`),
    with the fix: rename the label in the data (or with --label-mapping)."""
    clash = [n for n in names if n in RESERVED]
    if clash:
        raise DataError(
            f"{where}: label {clash[0]!r} is also a field of every prediction record "
            f"({', '.join(RESERVED)}), so the answer and the probabilities would collide; rename it "
            "in the data (or map it with --label-mapping, e.g. '1<TAB>is_label')"
        )


def alike_names(names) -> list[list[str]]:
    """Groups of label names that differ only in case or spaces (``Pos``/``pos``, ``a b``/``a  b``):
    one label written two ways, which training refuses rather than guess which is meant."""
    folded: dict[str, list[str]] = {}
    for n in names:
        folded.setdefault(" ".join(n.split()).casefold(), []).append(n)
    return [v for v in folded.values() if len(v) > 1]


def check_band(band) -> tuple[float, float]:
    """A neutral band as (lo, hi) with 0 <= lo <= hi <= 1, or an error naming the rule."""
    try:
        lo, hi = (float(x) for x in band)
    except (TypeError, ValueError):
        raise InputError(f"a neutral band is two numbers lo hi, got {band!r}") from None
    if not 0 <= lo <= hi <= 1:
        raise InputError(f"neutral band must satisfy 0 <= lo <= hi <= 1, got {band}")
    return lo, hi


def decision_margin(logits: np.ndarray, decision, neg: int, pos: int) -> np.ndarray:
    """Per text, how far its logits are from another label, in logits. ``decision``: "argmax" (the
    gap between the top two logits) or a tuple of bounds on l_pos - l_neg where the label changes (a
    P(positive) threshold t at temperature T is the bound T * logit(t); a neutral band adds two).
    Why: int8 moves a logit by little (shipped model: p99 0.12), so only texts this close to a
    boundary can get another label than fp32 gives them."""
    if decision == "argmax":
        top2 = np.partition(logits, -2, axis=1)[:, -2:]
        return top2[:, 1] - top2[:, 0]
    gap = logits[:, pos] - logits[:, neg]
    if not decision:
        return np.full(len(gap), np.inf)
    return np.abs(gap[:, None] - np.asarray(decision, dtype=logits.dtype)[None, :]).min(axis=1)


def polar(p, threshold: float) -> np.ndarray:
    """The threshold rule as classes: 1 (names[1]) where P(names[1]) >= ``threshold``, else 0."""
    return (np.asarray(p) >= threshold).astype(int)


def threshold_labels(p: np.ndarray, threshold: float, band, names=SENTIMENT2) -> list[str]:
    """names[1] when p >= threshold, else names[0]; neutral inside ``band`` = (lo, hi) when given."""
    labels = np.where(polar(p, threshold) == 1, names[1], names[0]).astype(object)
    if band is not None:
        lo, hi = check_band(band)
        labels[(p > lo) & (p < hi)] = NEUTRAL
    return labels.tolist()


@dataclass(frozen=True)
class LabelModel:
    """A model's labels and how it decides, built from its metadata (:meth:`from_meta`)."""

    names: tuple[str, ...]
    threshold: float = 0.5  # two-label models: names[1] when P(names[1]) >= threshold
    band: tuple[float, float] | None = None  # [negative, positive] models: default neutral band
    temperature: float = 1.0  # logits are divided by it
    offsets: tuple[float, ...] | None = None  # 3+ labels: added to log P(label) before the argmax

    @classmethod
    def from_meta(cls, meta) -> LabelModel:
        band = tuple(meta.neutral_band) if meta.neutral_band is not None else None
        offsets = meta.class_offsets
        offsets = tuple(float(b) for b in offsets) if offsets is not None else None
        return cls(tuple(meta.labels), float(meta.threshold), band, float(meta.temperature), offsets)

    def scores(self, probs: np.ndarray, cols=None) -> np.ndarray:
        """What the argmax rule compares: the probabilities, or log P + offset with class offsets
        (``cols``: the label columns ``probs`` holds, default all)."""
        if self.offsets is None:
            return probs
        b = np.asarray(self.offsets)[slice(None) if cols is None else list(cols)]
        return np.log(np.maximum(probs, 1e-300)) + b

    @property
    def two_label(self) -> bool:
        return len(self.names) == 2

    @property
    def sentiment(self) -> bool:
        """Has negative and positive: the binary answer and sentiment options apply."""
        return NEGATIVE in self.names and POSITIVE in self.names

    @property
    def neg(self) -> int:
        """Index of the negative label (a two-label task's first label)."""
        return self.names.index(NEGATIVE) if self.sentiment else 0

    @property
    def pos(self) -> int:
        """Index of the positive label (a two-label task's second label)."""
        return self.names.index(POSITIVE) if self.sentiment else 1

    @property
    def binary_threshold(self) -> float:
        """P(positive) threshold of the binary answer: a two-label model's own; 0.5 on the share
        P(pos) / (P(pos) + P(neg)) for a model with more labels, i.e. P(pos) vs P(neg)."""
        return self.threshold if self.two_label else 0.5

    @property
    def default_band(self) -> tuple[float, float] | None:
        return self.band if self.names == SENTIMENT2 else None

    def check(self, binary: bool = False, band=None) -> tuple[float, float] | None:
        """The options checked against this label set; returns the band in force."""
        if binary and not self.sentiment:
            raise InputError(
                f"binary (negative vs positive) needs a sentiment model; this one's labels are "
                f"{', '.join(self.names)}: drop --binary / binary=True"
            )
        if band is not None:
            if self.names == SENTIMENT3:
                raise InputError(
                    "a 3-class model labels neutral itself: drop the neutral band"
                    + ("" if binary else " (or ask for its binary answer: --binary, binary=True)")
                )
            if self.names != SENTIMENT2:
                raise InputError(
                    f"a neutral band applies to a negative/positive model; this one's labels are "
                    f"{', '.join(self.names)}: drop --neutral-band"
                )
            return check_band(band)
        return self.default_band

    def bounds(self, threshold: float | None = None, band=None) -> tuple:
        """A P(positive) decision as bounds on l_pos - l_neg (:func:`decision_margin`): the threshold
        (default: :attr:`binary_threshold`) and the band's edges."""
        cuts = [self.binary_threshold if threshold is None else threshold, *(band or ())]
        return tuple(self.temperature * math.log(c / (1 - c)) for c in cuts if 0 < c < 1)

    def decision(self, binary: bool = False, band=None):
        """What the label depends on, for the recheck: "argmax" or threshold bounds."""
        if binary or self.two_label:
            return self.bounds(band=band)
        return "argmax"

    def margin(self, logits: np.ndarray, decision) -> np.ndarray:
        if decision == "argmax" and self.offsets is not None:  # in logits: temperature * offsets
            logits = logits + self.temperature * np.asarray(self.offsets, dtype=logits.dtype)
        return decision_margin(logits, decision, self.neg, self.pos)

    def proba(self, logits: np.ndarray) -> np.ndarray:
        """Class probabilities at the model's temperature."""
        return softmax(logits, self.temperature)

    def positive_share(self, probs: np.ndarray) -> np.ndarray:
        """P(positive) of the binary answer: a two-label model's own, else P(pos) / (P(pos) + P(neg))."""
        return probs[:, self.pos] if self.two_label else positive_share(probs, self.neg, self.pos)

    def labels(self, probs: np.ndarray, binary: bool = False, band=None) -> list[str]:
        """The label of each row of ``probs`` under the rules above."""
        if binary or self.two_label:
            names = SENTIMENT2 if binary else self.names
            return threshold_labels(self.positive_share(probs), self.binary_threshold, band, names)
        return [self.names[i] for i in np.argmax(self.scores(probs), axis=1)]

    def columns(self, binary: bool = False) -> tuple[str, ...]:
        """The probability columns of a table of its records (CSV, Parquet): P(positive) alone for the
        negative/positive answer (a [negative, positive] model, or ``binary``), else every label's."""
        return (POSITIVE,) if binary or self.names == SENTIMENT2 else self.names

    def classes(self, probs: np.ndarray) -> np.ndarray:
        """The index into :attr:`names` of each row's label (:meth:`labels` without a band or the
        binary answer): what evaluation compares with the true classes."""
        if self.two_label:
            return polar(probs[:, 1], self.threshold).astype(np.int64)
        return np.argmax(self.scores(probs), axis=1).astype(np.int64)

    def sentiment3(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class index into negative / neutral / positive, positive share) of each row: a 3-class
        model's own decision (:meth:`classes_among`); a binary model's P(positive) through
        :data:`DEFAULT_BAND` (negative below, positive above, neutral inside). How any sentiment model
        answers a 3-class test (TweetEval)."""
        share = self.positive_share(probs)
        if len(self.names) == 3:
            return self.classes_among(probs, SENTIMENT3), share
        said = self.labels(probs, binary=True, band=DEFAULT_BAND)  # its threshold, then the band
        return np.array([SENTIMENT3.index(lab) for lab in said], dtype=int), share

    def classes_among(self, probs: np.ndarray, names) -> np.ndarray:
        """The index into ``names`` (a subset of this model's labels, any order) of each row's answer
        when only those labels are allowed: the likeliest of them (the model's own decision when
        ``names`` are its labels). How a base model is scored on a task with fewer labels."""
        names = tuple(names)
        if names == self.names:
            return self.classes(probs)
        missing = [n for n in names if n not in self.names]
        if missing:
            raise InputError(f"the model has no label {missing[0]!r} (its labels: {', '.join(self.names)})")
        cols = [self.names.index(n) for n in names]
        return np.argmax(self.scores(probs[:, cols], cols), axis=1).astype(np.int64)

    def proba_among(self, probs: np.ndarray, names) -> np.ndarray:
        """The probabilities of ``names`` (a subset of this model's labels, any order), renormalised to
        sum to 1: what a model with more labels says of a task with fewer."""
        among = probs[:, [self.names.index(n) for n in names]]
        return among / among.sum(axis=1, keepdims=True)

    def records(self, probs: np.ndarray, binary: bool = False, band=None) -> list[dict]:
        """One record per row: the label, then the probabilities (6 decimals): every label's, or for
        the binary answer and a [negative, positive] model, positive then negative."""
        labels = self.labels(probs, binary, band)
        if binary or self.names == SENTIMENT2:
            p = self.positive_share(probs).tolist()
            return [
                {"label": lab, POSITIVE: round(x, 6), NEGATIVE: round(1 - x, 6)} for lab, x in zip(labels, p)
            ]
        return [
            {"label": lab, **{n: round(v, 6) for n, v in zip(self.names, row)}}
            for lab, row in zip(labels, probs.tolist())
        ]
