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


FIT_SAMPLE = 20_000  # tweets the TF-IDF vocabulary and weights are learnt from (a pool's random sample)


class Selector:
    """The TF-IDF space is learnt from the pool (or a seeded sample of :data:`FIT_SAMPLE` tweets of a
    larger one) and a tweet's vector is made when a choice first needs it, so a pool of a million
    tweets opens in seconds, not minutes and gigabytes."""

    def __init__(self, texts: list[str], seed: int = 0):
        from sklearn.feature_extraction.text import TfidfVectorizer

        from tinysent.core.normalize import Normalizer

        self.texts, self.n = texts, len(texts)
        self.normalizer = Normalizer()
        sample = texts
        if self.n > FIT_SAMPLE:
            pick = np.random.default_rng([seed, 1]).choice(self.n, FIT_SAMPLE, replace=False)
            sample = [texts[i] for i in sorted(pick)]
        self.vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
        self.vec.fit(self.normalizer.many(sample))
        self._rows: dict[int, object] = {}  # index -> its TF-IDF row (unit length, or zero)
        self.rng = np.random.default_rng(seed)

    def rows(self, idx):
        """The TF-IDF rows of tweets ``idx`` (a sparse matrix), made on first use."""
        import scipy.sparse as sp

        missing = [
            int(i) for i in dict.fromkeys(np.asarray(idx, dtype=int).tolist()) if int(i) not in self._rows
        ]
        if missing:
            x = self.vec.transform(self.normalizer.many([self.texts[i] for i in missing])).tocsr()
            self._rows.update((i, x[j]) for j, i in enumerate(missing))
        return sp.vstack([self._rows[int(i)] for i in idx], format="csr") if len(idx) else None

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
        xc = self.rows(cand)
        ref = np.asarray(list(recent)[-RECENT:], dtype=int)
        sim = np.zeros(len(cand), dtype=np.float32)
        if len(ref):
            sim = np.asarray((xc @ self.rows(ref).T).max(axis=1).todense()).ravel()
        taken = np.zeros(len(cand), bool)
        out = []
        for _ in range(min(k, len(cand))):
            value = np.where(taken, -np.inf, worth * (1.0 - np.clip(sim, 0, 1)))
            i = int(np.argmax(value))
            out.append(int(cand[i]))
            taken[i] = True
            sim = np.maximum(sim, np.asarray((xc @ xc[i].T).todense()).ravel())
        return out
