"""Prediction: one ``predict`` that takes a string or a list, normalising exactly as in training.

Defined behaviour for awkward input (also in the README):
- a non-string raises ``TypeError`` naming its position; nothing is scored;
- an empty or whitespace-only string is scored like any text (the model sees only [CLS] [SEP]),
  and its record says ``"empty": true``;
- a text longer than the model's max length is truncated to it, and its record says
  ``"truncated": true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .batching import encode
from .config import ModelMeta
from .normalize import Normalizer

SHIPPED_DIR = Path(__file__).parent / "shipped" / "tinysent-tinybert-4l"


def label_of(p_pos: np.ndarray, threshold: float, band: tuple[float, float] | None) -> list[str]:
    """negative / positive by threshold; neutral inside ``band`` = (lo, hi) when one is given."""
    labels = np.where(p_pos >= threshold, "positive", "negative").astype(object)
    if band is not None:
        lo, hi = band
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"neutral band must satisfy 0 <= lo <= hi <= 1, got {band}")
        labels[(p_pos > lo) & (p_pos < hi)] = "neutral"
    return labels.tolist()


class Predictor:
    """A loaded model folder: tokenizer, weights, normaliser config, threshold and temperature."""

    def __init__(
        self, model, tokenizer, meta: ModelMeta, path: Path | None = None, device: str | None = None
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.meta = meta
        self.path = path
        self.normalizer = Normalizer(meta.normalizer_config)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.to(self.device)

    @classmethod
    def from_dir(cls, path: str | os.PathLike, device: str | None = None) -> Predictor:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        if not (path / "config.json").exists():
            raise FileNotFoundError(
                f"{path} is not a model folder (no config.json); train one with `tinysent train`"
            )
        model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32)
        return cls(model, AutoTokenizer.from_pretrained(path), ModelMeta.load(path), path, device)

    def _check(self, texts) -> list[str]:
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text {i} is a {type(t).__name__}, not a str: convert it (or drop it) first")
        return list(texts)

    @torch.no_grad()
    def positive_proba(self, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive), truncated?) per text; batches sorted by length so padding stays small."""
        norm = self.normalizer.many(texts)
        full = encode(norm, self.tokenizer, None)
        n_max = self.meta.max_length
        truncated = np.array([len(x) > n_max for x in full], dtype=bool)
        ids = [x if len(x) <= n_max else x[: n_max - 1] + x[-1:] for x in full]
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.empty(len(ids), dtype=np.float64)
        pos = self.meta.labels.index("positive")
        for s in range(0, len(ids), batch_size):
            idx = order[s : s + batch_size]
            width = max(len(ids[i]) for i in idx)
            x = torch.zeros((len(idx), width), dtype=torch.long)
            m = torch.zeros_like(x)
            for r, i in enumerate(idx):
                x[r, : len(ids[i])] = torch.as_tensor(ids[i])
                m[r, : len(ids[i])] = 1
            logits = self.model(input_ids=x.to(self.device), attention_mask=m.to(self.device)).logits.float()
            p = torch.softmax(logits / self.meta.temperature, -1)[:, pos]
            out[idx] = p.cpu().numpy()
        return out, truncated

    def predict(self, texts, batch_size: int = 64, neutral_band: tuple[float, float] | None = None):
        """One record (dict) per text, or one record for one string:
        ``{"label", "positive", "negative"}`` plus ``truncated`` / ``empty`` flags when they apply."""
        single = isinstance(texts, str)
        items = self._check([texts] if single else texts)
        if not items:
            return []
        band = neutral_band if neutral_band is not None else self.meta.neutral_band
        p, truncated = self.positive_proba(items, batch_size)
        labels = label_of(p, self.meta.threshold, tuple(band) if band is not None else None)
        records = []
        for t, lab, pp, tr in zip(items, labels, p.tolist(), truncated.tolist()):
            r = {"label": lab, "positive": round(pp, 6), "negative": round(1 - pp, 6)}
            if tr:
                r["truncated"] = True
            if not t.strip():
                r["empty"] = True
            records.append(r)
        return records[0] if single else records


def load(path: str | os.PathLike | None = None, device: str | None = None) -> Predictor:
    """A model folder as a :class:`Predictor`; with no path, the model shipped in the package."""
    if path is None:
        path = SHIPPED_DIR
        if not (path / "config.json").exists():
            raise FileNotFoundError(
                f"no shipped model at {path}: this install lacks it; pass a model folder (tinysent train --out DIR)"
            )
    return Predictor.from_dir(path, device)
