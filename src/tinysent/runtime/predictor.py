"""Prediction: one ``predict`` that takes a string or a list, normalising exactly as in training.

Two backends behind one interface (:mod:`tinysent.runtime.backends`): ONNX Runtime (the default path:
the shipped model's int8 graph, no torch needed) and PyTorch (any model folder; the ``train`` extra).
``load`` picks ONNX when the folder has it. Which label a text gets is :mod:`tinysent.core.labels`.

Defined behaviour for awkward input (also in the README):
- a non-string raises ``TypeError`` naming its position; nothing is scored;
- an empty or whitespace-only string is scored like any text (the model sees only ``[CLS]`` ``[SEP]``),
  and its record says ``"empty": true``;
- a text longer than the model's max length is truncated to it, and its record says
  ``"truncated": true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from tinysent.core.errors import InputError, InputTypeError, ModelError
from tinysent.core.folder import ModelFolder
from tinysent.core.labels import LabelModel
from tinysent.core.meta import ModelMeta
from tinysent.core.normalize import Normalizer
from tinysent.core.tokenize import encode, load_tokenizer
from tinysent.runtime.backends import LazyBackend, OnnxBackend, TorchBackend, is_int8
from tinysent.runtime.registry import SHIPPED_DIR, resolve_model, shipped_folder  # noqa: F401 (re-exported)

# Padded tokens per model call when ``max_tokens="auto"``: for int8 ONNX only (fp32 results do not
# depend on the call, int8's per-call activation scales do; the fp32 recheck below absorbs that).
INT8_MAX_TOKENS = 4096
# Padded tokens per fp32 call of the int8 recheck: fp32 runs best in small calls (its activations
# and weights are 4x int8's): the shipped model's near-ties were rescored at 690 tweets/s in calls
# of 4,096 tokens, 930-950/s in calls of 512-768 (benchmarks/recheck_cost.py measures the effect).
RECHECK_MAX_TOKENS = 768
# Characters read per token the model reads, and at least: a token is one or more characters (a word
# of over 100 is one [UNK]), so the first max_length tokens lie in far fewer characters than this.
CHARS_PER_TOKEN = 200
MIN_CHARS = 10_000


def check_texts(texts) -> list[str]:
    """The texts as a list, once (any iterable: a generator is read, not consumed by a check), each
    a str that is valid Unicode; the error names the text and the character."""
    if isinstance(texts, (bytes, bytearray, Mapping)) or not isinstance(texts, Iterable):
        raise InputTypeError(
            f"texts must be a str or an iterable of str, not {type(texts).__name__}"
            + (": decode it first" if isinstance(texts, (bytes, bytearray)) else "")
        )
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise InputTypeError(
                f"text {i} is a {type(t).__name__}, not a str: convert it (or drop it) first"
            )
        try:
            t.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InputError(
                f"text {i} is not valid Unicode: character {e.start} is {t[e.start]!r}, an unpaired "
                "surrogate (from undecodable bytes?); fix or drop it"
            ) from None
    return items


class Predictor:
    """A loaded model folder: tokenizer, backend, normaliser config and label model."""

    def __init__(
        self,
        backend,
        tokenizer,
        meta: ModelMeta,
        path: Path | None = None,
        max_tokens=None,
        recheck=None,
        recheck_margin: float = 0.0,
    ):
        """``max_tokens``: at most this many padded tokens per model call (None: no cap);
        ``recheck``: a backend (fp32) that scores again the texts whose logits lie within
        ``recheck_margin`` of another label (:meth:`ModelFolder.recheck`)."""
        if max_tokens is not None and max_tokens < 1:
            raise InputError(f"max_tokens must be >= 1 or None for no cap (got {max_tokens})")
        self.max_tokens = max_tokens
        self.backend = backend
        self.recheck = recheck
        self.recheck_margin = recheck_margin if recheck is not None else 0.0
        self.rechecked = 0  # texts the recheck has scored again, since loading
        self.recheck_max_tokens = RECHECK_MAX_TOKENS
        self.tokenizer = tokenizer
        self.meta = meta
        self.path = path
        self.normalizer = Normalizer(meta.normalizer_config)
        self.labels = LabelModel.from_meta(meta)

    @property
    def model(self):
        """The PyTorch model (torch backend only)."""
        return self.backend.model

    @classmethod
    def from_dir(
        cls,
        path: str | os.PathLike | ModelFolder,
        backend: str = "auto",
        device: str | None = None,
        threads: int | None = None,
        max_tokens: int | str | None = "auto",
        precision: str = "auto",
        recheck_margin: float | None = None,
    ) -> Predictor:
        """``path``: a model folder, or a :class:`ModelFolder` already opened (its files are not hashed
        again); ``backend``: auto (ONNX when the folder has an export, else PyTorch), torch or onnx;
        ``precision`` (ONNX): auto (int8 when present), int8 or fp32; ``max_tokens``: padded tokens
        per call, "auto" = :data:`INT8_MAX_TOKENS` for int8 ONNX, else no cap; ``recheck_margin``:
        see :meth:`ModelFolder.recheck` (None: the export's own, 0: pure int8)."""
        folder = path if isinstance(path, ModelFolder) else ModelFolder(path)  # checked files stay checked
        weights = folder.weights(backend, precision)
        margin, fp32 = folder.recheck(weights, recheck_margin)
        if max_tokens == "auto":
            max_tokens = INT8_MAX_TOKENS if is_int8(weights) else None

        def built(make, file):
            try:
                return make()
            except ModelError:
                raise
            except Exception as e:  # ONNX Runtime's errors are its own classes
                if type(e).__name__ == "MissingExtra":
                    raise
                raise ModelError(
                    f"cannot load {file}: {str(e).splitlines()[0][:300]} (damaged or truncated?)"
                ) from None

        if weights.suffix == ".onnx":
            be = built(lambda: OnnxBackend(weights, threads), weights)
        else:
            be = built(lambda: TorchBackend(folder.path, device, threads), weights)
        recheck = None
        if fp32 is not None:
            recheck = LazyBackend(lambda: built(lambda: OnnxBackend(fp32, threads), fp32))
        tokenizer = load_tokenizer(folder.path)
        return cls(be, tokenizer, folder.meta, folder.path, max_tokens, recheck, margin)

    def warm(self) -> Predictor:
        """Build what is otherwise built on first need (the recheck's fp32 session): a service
        calls this so no request pays for it."""
        if isinstance(self.recheck, LazyBackend):
            self.recheck.backend  # noqa: B018 - built by the property
        return self

    @property
    def max_chars(self) -> int:
        """Characters of a text read at most (:data:`CHARS_PER_TOKEN` per token the model reads)."""
        return max(MIN_CHARS, CHARS_PER_TOKEN * self.meta.max_length)

    def token_ids(self, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
        """Normalised, tokenised, truncated to the model's max length (keeping ``[SEP]``); and truncated?

        A text is cut to :attr:`max_chars` characters before anything else: a 50 MB line would
        otherwise become millions of tokens (gigabytes, minutes) only for all but the first
        ``max_length`` to be dropped. The cut changes nothing unless the first ``max_chars``
        characters hold fewer tokens than the model reads (words of 100+ characters each)."""
        limit = self.max_chars
        cut = [t if len(t) <= limit else t[:limit] for t in texts]
        full = encode(self.normalizer.many(cut), self.tokenizer, None)
        n_max = self.meta.max_length
        truncated = np.array([len(x) > n_max or len(t) > limit for x, t in zip(full, texts)], dtype=bool)
        return [x if len(x) <= n_max else x[: n_max - 1] + x[-1:] for x in full], truncated

    def logits(self, ids: list[list[int]], batch_size: int = 256, decision=None) -> np.ndarray:
        """Raw logits, in input order; with ``decision`` (:meth:`LabelModel.decision`) and an fp32
        recheck, the texts within ``recheck_margin`` of another label get the recheck's logits.

        Calls go in order of length (padding stays small), each with at most ``batch_size`` texts and,
        when ``self.max_tokens`` is set, that many padded tokens (always at least one text). Why the
        token cap: a call of 256 long tweets holds tens of MB of FFN activations and runs out of cache;
        capped calls are faster (benchmarks/token_cap.py, paired). Int8 scales activations per call,
        so the cap changes int8 results a little; the recheck takes the affected near-ties to fp32."""
        out = self._calls(self.backend, ids, batch_size, self.max_tokens)
        if self.recheck is not None and decision is not None and len(ids):
            near = np.flatnonzero(self.labels.margin(out, decision) < self.recheck_margin)
            if len(near):
                cap = min(self.max_tokens or self.recheck_max_tokens, self.recheck_max_tokens)
                out[near] = self._calls(self.recheck, [ids[i] for i in near], batch_size, cap)
                self.rechecked += len(near)
        return out

    def _calls(self, backend, ids: list[list[int]], batch_size: int, cap: int | None) -> np.ndarray:
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        cap = cap or np.iinfo(np.int64).max
        out = np.empty((len(ids), len(self.meta.labels)), dtype=np.float32)
        s = 0
        while s < len(ids):
            e = s + 1  # sorted: the newest text is the longest, so (count) x (its length) is the padding
            while e < len(ids) and e - s < batch_size and (e - s + 1) * lengths[order[e]] <= cap:
                e += 1
            idx = order[s:e]
            width = int(lengths[idx[-1]])
            x = np.zeros((len(idx), width), dtype=np.int64)
            m = np.zeros_like(x)
            for r, i in enumerate(idx):
                x[r, : lengths[i]] = ids[i]
                m[r, : lengths[i]] = 1
            out[idx] = backend.logits(x, m)
            s = e
        return out

    @property
    def three_class(self) -> bool:
        return len(self.meta.labels) == 3

    @property
    def threshold(self) -> float:
        """P(positive) threshold of the binary answer (:attr:`LabelModel.binary_threshold`)."""
        return self.labels.binary_threshold

    @property
    def band(self) -> tuple[float, float] | None:
        """The default neutral band: a [negative, positive] model's own."""
        return self.labels.default_band

    def bounds(self, threshold: float | None = None, band: tuple[float, float] | None = None) -> tuple:
        """See :meth:`LabelModel.bounds`."""
        return self.labels.bounds(threshold, band)

    def proba(self, texts: list[str], batch_size: int = 256, decision=None) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities [n, len(labels)] with the model's temperature, truncated?) per text.
        ``decision`` (what the recheck protects): default the model's own rule."""
        if decision is None:
            decision = self.labels.decision(band=self.band)
        ids, truncated = self.token_ids(texts)
        return self.labels.proba(self.logits(ids, batch_size, decision)), truncated

    def positive_share(
        self, texts: list[str], batch_size: int = 256, decision=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive), truncated?) per text: the binary answer (:meth:`LabelModel.positive_share`),
        what Sentiment140-style questions are scored by."""
        if decision is None:
            decision = self.bounds(band=self.band)
        p, truncated = self.proba(texts, batch_size, decision)
        return self.labels.positive_share(p), truncated

    positive_proba = positive_share  # its earlier name (one name per idea now: the positive share)

    def predict(
        self,
        texts,
        batch_size: int = 256,
        neutral_band: tuple[float, float] | None = None,
        binary: bool = False,
    ):
        """One record (dict) per text, or one record for one string, plus ``truncated`` / ``empty``
        flags when they apply: the label and the probabilities (:meth:`LabelModel.records`). A
        [negative, positive] model: ``{"label", "positive", "negative"}`` (``neutral`` inside
        ``neutral_band``). A 3-class model: ``{"label", "negative", "neutral", "positive"}``; with
        ``binary=True`` it answers negative / positive by P(pos) vs P(neg) and gives those two,
        renormalised. Any other label set: the label and every label's probability."""
        single = isinstance(texts, str)
        items = check_texts([texts] if single else texts)
        band = self.labels.check(binary, neutral_band)
        if not items:
            return []
        p, truncated = self.proba(items, batch_size, self.labels.decision(binary, band))
        records = self.labels.records(p, binary, band)
        for r, t, tr in zip(records, items, truncated.tolist()):
            if tr:
                r["truncated"] = True
            if not t.strip():
                r["empty"] = True
        return records[0] if single else records

    def explain(self, texts, batch_size: int = 256, toward: str | None = None):
        """:meth:`predict`'s record(s) plus ``explanation``: each word's weight toward the label (the
        label's probability with the tweet minus without the word; :mod:`tinysent.runtime.explain`);
        ``toward``: another label of the model's to explain instead."""
        from tinysent.runtime.explain import explain

        single = isinstance(texts, str)
        items = check_texts([texts] if single else texts)
        records = explain(self, items, batch_size, toward) if items else []
        return records[0] if single else records

    def describe(self) -> dict:
        return {
            "path": str(self.path),
            "backend": self.backend.name,
            "recheck_margin": self.recheck_margin,
            "normalizer_version": self.meta.normalizer_config.version,
            "labels": self.meta.labels,
            "max_length": self.meta.max_length,
            "temperature": self.meta.temperature,
            "class_offsets": self.meta.class_offsets,  # how the label is decided (LabelModel)
        }


def load(
    path: str | os.PathLike | ModelFolder | None = None,
    backend: str = "auto",
    device: str | None = None,
    threads: int | None = None,
    max_tokens: int | str | None = "auto",
    precision: str = "auto",
    recheck_margin: float | None = None,
) -> Predictor:
    """A model folder as a :class:`Predictor`; with no path, the model shipped in the package (on a
    CPU its int8 ONNX graph with the fp32 recheck: the default path, made at release time by
    ``tinysent pack``). ``threads``: CPU threads for the model (default: one per core);
    ``max_tokens``: padded tokens per model call ("auto": a cap for int8 ONNX, none otherwise);
    ``precision``: which ONNX file (auto, int8, fp32); ``recheck_margin``: int8's fp32 recheck of
    near-ties (None: the export's own, 0: off; see :meth:`ModelFolder.recheck`)."""
    if path is None:
        path = shipped_folder()
        if device not in (None, "cpu") and backend == "auto":
            backend = "torch"  # a GPU runs the PyTorch weights
    elif not isinstance(path, ModelFolder):
        path = resolve_model(path)  # a folder, or a name: shipped, fast, accurate, a model package's
    return Predictor.from_dir(path, backend, device, threads, max_tokens, precision, recheck_margin)
