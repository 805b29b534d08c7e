"""Small numeric helpers used in several stages, written once."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` in float64 (stable: the row maximum is subtracted)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, float32 (stable: the row maximum is subtracted first)."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(-1, keepdims=True)
    return (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32)


def fp16_state_dict(state: dict) -> dict:
    """Floating-point tensors as fp16 (half the file size; loaded back as fp32), other tensors unchanged."""
    import torch

    return {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in state.items()}


def positive_share(probs: np.ndarray, neg: int, pos: int) -> np.ndarray:
    """P(pos) / (P(pos) + P(neg)) per row: how a 3-class model answers a binary question."""
    return probs[:, pos] / np.maximum(probs[:, pos] + probs[:, neg], 1e-12)
