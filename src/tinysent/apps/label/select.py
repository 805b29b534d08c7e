"""Which tweets come next: the model in the loop. With a model's probabilities (the shipped model's
for sentiment-like labels, then each fine-tuned round's), the tweets it is least sure of (smallest
gap between its two likeliest labels), taken greedily so that each is unlike the tweets already
labelled and already chosen (cosine similarity of TF-IDF vectors); without a model, the same greedy
spread alone over a random sample, so the first labels cover the tweets instead of one corner of
them. ``tinysent label`` and ``benchmarks/active_labelling.py`` both call :meth:`Selector.choose`.
"""

from __future__ import annotations

import numpy as np

UNCERTAIN_POOL = 200  # the least sure tweets the diverse choice is made among
SPREAD_POOL = 2000  # without a model: a random sample to spread over
RECENT = 2000  # labelled tweets a new one must be unlike (the most recent)


class Selector:
    def __init__(self, texts: list[str], seed: int = 0):
        from sklearn.feature_extraction.text import TfidfVectorizer

        from tinysent.core.normalize import Normalizer

        self.n = len(texts)
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
        self.x = vec.fit_transform(Normalizer().many(texts)).tocsr()  # rows of unit length (or zero)
        self.rng = np.random.default_rng(seed)

    def choose(self, k: int, labelled: np.ndarray, probs: np.ndarray | None = None, recent=()) -> list[int]:
        """Up to ``k`` indices of unlabelled tweets, best first. ``labelled``: a mask over the tweets;
        ``probs``: the current model's probabilities (rows x labels) or None; ``recent``: the labelled
        tweets' indices, newest last (a new choice must be unlike them)."""
        free = np.flatnonzero(~np.asarray(labelled, bool))
        if not len(free) or k <= 0:
            return []
        if probs is None:
            cand = self.rng.choice(free, min(len(free), SPREAD_POOL), replace=False)
            worth = np.ones(len(cand))
        else:
            p = np.sort(np.asarray(probs)[free], axis=1)
            gap = p[:, -1] - p[:, -2]
            order = np.argsort(gap, kind="stable")[:UNCERTAIN_POOL]
            cand, worth = free[order], 1.0 - gap[order]
        xc = self.x[cand]
        ref = np.asarray(list(recent)[-RECENT:], dtype=int)
        sim = np.zeros(len(cand), dtype=np.float32)
        if len(ref):
            sim = np.asarray((xc @ self.x[ref].T).max(axis=1).todense()).ravel()
        taken = np.zeros(len(cand), bool)
        out = []
        for _ in range(min(k, len(cand))):
            value = np.where(taken, -np.inf, worth * (1.0 - np.clip(sim, 0, 1)))
            i = int(np.argmax(value))
            out.append(int(cand[i]))
            taken[i] = True
            sim = np.maximum(sim, np.asarray((xc @ xc[i].T).todense()).ravel())
        return out
