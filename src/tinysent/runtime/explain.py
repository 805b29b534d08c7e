"""Why this label? Each word's share of the answer, by occlusion: the chosen label's probability with
the whole tweet, minus its probability with that word left out. Runs on whatever the predictor runs
(the default path: int8 ONNX, no torch); every tweet and every one-word-shorter copy of it go to the
model together, so a batch of tweets costs one batched pass over about (words + 1) x as many rows.

What a weight means: how much the model's confidence in its answer leans on the word, here, with the
other words present. It is not a rule the model learnt about the word. Where it misleads:

- **negation and phrases**: in "not good" the words act together; leaving out "not" flips the answer
  (a big weight on "not"), leaving out "good" may leave "not ..." still negative (a small weight on
  "good"). Occlusion sees one word at a time, never a pair.
- **redundancy**: with two strong words ("love love") each alone carries little, since the other one
  still says the same thing.
- **sarcasm**: the weights explain the model's answer, right or wrong; a sarcastic "great, just
  great" gets high weights on "great" toward positive because that is what the model read.
- **text the model never sees**: a word past the model's ``max_length`` tokens has weight 0.

What it costs, whatever the text's length: the words the model reads (at most ``max_length`` - 2, and
:data:`MAX_WORDS`) are weighed, each on a copy of the text cut after the next word (what the model
reads without that word), so a text costs at most ``max_length`` - 1 model rows of at most
``max_length`` tokens. (A 5,000-character text once cost a copy of all of it per word.)
"""

from __future__ import annotations

import re

import numpy as np

from tinysent.core.errors import InputError

WORD = re.compile(r"\S+")
MAX_WORDS = 256  # words looked at per text at most (a tweet has ~20; each word is at least one token)


def words_of(text: str) -> list[tuple[int, int]]:
    """Character spans of the whitespace-separated words of ``text``."""
    return [m.span() for m in WORD.finditer(text)]


def without(text: str, span: tuple[int, int]) -> str:
    """``text`` with the word at ``span`` left out (and one of the spaces around it)."""
    start, end = span
    return (text[:start].rstrip() + " " + text[end:].lstrip()).strip()


def seen_words(predictor, text: str, spans: list[tuple[int, int]]) -> int:
    """How many of the text's leading words lie inside the model's ``max_length`` tokens: each word
    normalised and tokenised alone (a word's tokens do not depend on its neighbours), counted until
    the tokens between ``[CLS]`` and ``[SEP]`` run out."""
    from tinysent.core.tokenize import encode

    budget = predictor.meta.max_length - 2
    words = [text[a:b] for a, b in spans[:MAX_WORDS]]
    used = 0
    for j, ids in enumerate(encode(predictor.normalizer.many(words), predictor.tokenizer, None)):
        used += max(len(ids) - 2, 0)  # without its own [CLS] and [SEP]
        if used > budget:
            return j
    return len(words)


def explain(predictor, texts: list[str], batch_size: int = 256, toward: str | None = None) -> list[dict]:
    """One record per text: :meth:`Predictor.predict`'s (label and probabilities), plus
    ``explanation``: each word (its characters ``start``..``end`` in the text) with ``weight`` =
    P(label | tweet) - P(label | tweet without the word); positive: the word pushed toward the label.
    The label is the model's own answer (:class:`LabelModel`: temperature, offsets, threshold); a
    [negative, positive] model's neutral-band answer is explained by P(positive)'s distance from it.
    ``toward``: explain this label's probability instead of the answer's (one of the model's labels;
    the labelling page explains its guess among your labels)."""
    records = predictor.predict(texts, batch_size)
    spans = [words_of(t) for t in texts]
    seen = [seen_words(predictor, t, ss) for t, ss in zip(texts, spans)]
    # each seen word left out of the text cut after the next word: what the model reads without it
    shown = [t[: ss[min(n, len(ss) - 1)][1]] if ss else t for t, ss, n in zip(texts, spans, seen)]
    variants = [without(c, s) for c, ss, n in zip(shown, spans, seen) for s in ss[:n]]
    # the tweets and their variants in one pass, at one precision: probabilities alone (no decision to
    # protect, so no fp32 recheck of near-ties, which would score some rows at another precision)
    probs, _ = predictor.proba(list(texts) + variants, batch_size, decision=())
    names = list(predictor.labels.names)
    k = len(texts)
    if toward is not None and toward not in names:
        raise InputError(f"the model has no label {toward!r} (its labels: {', '.join(names)})")
    for i, (text, ss, rec) in enumerate(zip(texts, spans, records)):  # k: the next variant's row
        if toward is not None or rec["label"] in names:
            col = names.index(toward if toward is not None else rec["label"])
            support = probs[:, col]
        else:  # neutral inside a band: how close P(positive) is to the middle
            support = -np.abs(probs[:, names.index("positive")] - 0.5)
        expl = []
        for j, s in enumerate(ss):
            weight = 0.0  # a word the model does not read
            if j < seen[i]:
                weight = float(support[i] - support[k])
                k += 1
            expl.append({"word": text[s[0] : s[1]], "start": s[0], "end": s[1], "weight": round(weight, 6)})
        rec["explanation"] = expl
    return records
