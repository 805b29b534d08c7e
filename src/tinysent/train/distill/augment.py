"""More transfer tweets from the ones you have: perturbed copies for the teacher to label.

TinyBERT distils on an augmented transfer set (its paper: word replacement from BERT's masked LM and
GloVe neighbours); Tang et al. 2019 ("Distilling task-specific knowledge from BERT into simple neural
networks") showed that cruder perturbations work as well for distillation, because the *teacher*
labels each copy: the copies need not keep their source's label, only stay near the data so the
student sees more of the teacher's function around it. Here, with no masked LM on the runtime's
dependencies: each word dropped or swapped for a word of another tweet (drawn by frequency), and
sometimes only a span of the tweet kept. Deterministic for a seed, so the copies' texts, and so the
teacher's cached rows, are the same on a rerun.
"""

from __future__ import annotations

import numpy as np

P_DROP, P_SWAP, P_SPAN = 0.1, 0.1, 0.25


def augment(texts: list[str], copies: int, seed: int = 0, progress: bool = False) -> list[str]:
    """``copies`` perturbed versions of each text (fewer where a short text has no new version), none
    equal to an original or to each other, in a fixed order for a seed; ``progress``: a bar over the
    texts (a large ``copies`` takes a while)."""
    if copies < 1 or not texts:
        return []
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    tweets = [t.split() for t in texts]
    vocab, counts = np.unique([w for words in tweets for w in words], return_counts=True)
    cdf = np.cumsum(counts) / counts.sum()
    seen, out = set(texts), []
    for words in tqdm(tweets, desc=f"augment x{copies}", unit="tweet", disable=not progress):
        if not words:
            continue
        for _ in range(copies):
            for _try in range(3):  # a short tweet may come out unchanged: try again, then give up
                text = " ".join(_perturb(words, rng, vocab, cdf))
                if text and text not in seen:
                    seen.add(text)
                    out.append(text)
                    break
    return out


def _perturb(words: list[str], rng, vocab, cdf) -> list[str]:
    """Each word kept, dropped (P_DROP) or swapped for a word drawn by frequency (P_SWAP); then, with
    P_SPAN, a span of at least half the words kept."""
    u = rng.random(len(words))
    draws = np.minimum(np.searchsorted(cdf, rng.random(int((u >= 1 - P_SWAP).sum()))), len(vocab) - 1)
    swaps = iter(vocab[draws])
    keep, swap = u < 1 - P_DROP - P_SWAP, u >= 1 - P_SWAP
    new = [w if k else next(swaps) for w, k, s in zip(words, keep, swap) if k or s]
    if len(new) > 3 and rng.random() < P_SPAN:
        n = int(rng.integers((len(new) + 1) // 2, len(new)))
        start = int(rng.integers(0, len(new) - n + 1))
        new = new[start : start + n]
    return new
