"""The sentiment mix's rows (numpy only). 3-class models learn from mixed sources: hand-labelled
negative / neutral / positive tweets (SemEval)
beside Sentiment140's binary emoticon labels, validated on TweetEval's validation split and a
Sentiment140 validation split.

How a binary example supervises a 3-class head, decided on validation (2-core CPU, 2026-11-26,
`results/cpu-2026-11-26/binary-loss/`: the shipped v2 widened to 3 classes, SemEval + 20,000
Sentiment140 tweets, half an epoch, the same run but for this option):
``binary_loss="full"`` (an emoticon label as an ordinary 3-class label: "positive, not neutral")
reached TweetEval-val macro recall 0.689 and Sentiment140-val 0.836; ``"share"`` (only
P(pos) / (P(pos) + P(neg)), leaving neutral free) 0.650 and 0.827. Emoticon tweets carried an emotion
by construction, so "not neutral" is true of them, and the share loss left the model's neutral
unconstrained on exactly the tweets that have most of the training data. ``full`` is the default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tinysent.core.labels import SENTIMENT3
from tinysent.core.tokenize import encode
from tinysent.data import semeval as H
from tinysent.data import sentiment140 as D
from tinysent.data.tokens import prepare_data

NEG, NEU, POS = (SENTIMENT3.index(n) for n in SENTIMENT3)  # class indices of LABELS3
SHARE = [NEG, POS]  # the logits a binary label speaks about


@dataclass
class MixedData:
    """Training rows of both kinds and the two validation sets, tokenised."""

    ids: list
    labels: np.ndarray  # 3-class index (0 negative, 1 neutral, 2 positive)
    emoticon: np.ndarray  # True where the label is a Sentiment140 emoticon label (neutral unknown)
    texts: list[str]  # raw training texts (teachers read them with their own tokenizers)
    val3_ids: list
    val3_labels: np.ndarray
    val2_ids: list
    val2_labels: np.ndarray  # 3-class index 0 or 2
    max_length: int
    data_sha256: str | None
    stats: dict


def prepare_mixed(cfg, tokenizer, normalizer) -> MixedData:
    """SemEval rows (placeholders, repeated ids, duplicates and TweetEval-validation texts dropped) +
    a stratified Sentiment140 sample of ``cfg.max_train`` rows (with its own validation split).
    ``cfg`` is a 3-class ``TrainConfig``, which has checked that both folders are named."""
    max_length = cfg.max_length or 64
    val3, _ = H.validation3(cfg.tweeteval_data, cfg.handlabelled_data, cfg.handlabelled_holdout)
    hand = H.read_semeval(cfg.handlabelled_data, exclude=set(cfg.handlabelled_holdout))
    stats = {"handlabelled_read": len(hand), "handlabelled_problems": len(hand.problems)}
    hand, overlap = H.drop_overlap(hand, val3.texts, normalizer)
    hand = D.deduplicate(hand, drop_duplicates=True, drop_conflicts=True)
    stats.update(handlabelled_val_overlap=overlap, handlabelled_rows=len(hand))
    h_texts = normalizer.many(hand.texts)
    ids = encode(h_texts, tokenizer, max_length)
    labels = H.classes3(hand.polarity)
    emoticon = np.zeros(len(ids), bool)
    texts = list(hand.texts)
    val2_ids, val2_labels, sha = [], np.zeros(0, np.int64), None
    if cfg.train_data and cfg.max_train != 0:
        prep = prepare_data(replace(cfg, max_length=max_length), tokenizer, normalizer)
        ids = ids + list(prep.train_ids)
        labels = np.concatenate([labels, prep.train_labels * 2])
        emoticon = np.concatenate([emoticon, np.ones(len(prep.train_ids), bool)])
        texts += prep.train_texts
        val2_ids, val2_labels, sha = prep.val_ids, prep.val_labels * 2, prep.data_sha256
        stats.update(binary_rows=len(prep.train_ids), binary_val_rows=len(val2_ids))
    v3 = encode(normalizer.many(val3.texts), tokenizer, max_length)
    stats.update(val3_rows=len(v3), rows=len(ids), max_length=max_length)
    return MixedData(
        ids,
        labels,
        emoticon,
        texts,
        v3,
        H.classes3(val3.polarity),
        val2_ids,
        val2_labels,
        max_length,
        sha,
        stats,
    )
