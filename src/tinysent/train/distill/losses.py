"""TinyBERT's distillation losses (Jiao et al., 2020, arXiv 1909.10351) and the two objectives the
training loop runs with them.

Intermediate layers (stages 0 and 1): MSE between the student's and the teacher's pre-softmax
attention scores (padding excluded), hidden states (through a learned projection when widths
differ) and embeddings, student layer m matched to teacher layer ``layer_map[m]``.
Prediction layer (stage 2): soft cross-entropy against the teacher's logits at a temperature,
optionally mixed with the true labels.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
import torch.nn.functional as F

from tinysent.core.errors import InputError
from tinysent.train.loop import Objective


def uniform_layer_map(n_student: int, n_teacher: int) -> list[int]:
    """Teacher layer (1-based) for each student layer: g(m) = round(m * N / M), e.g. 4 of 12 → 3,6,9,12."""
    if n_student > n_teacher:
        raise InputError(f"student has more layers ({n_student}) than the teacher ({n_teacher})")
    return [int(math.floor(m * n_teacher / n_student + 0.5)) for m in range(1, n_student + 1)]


def attention_loss(s_scores: torch.Tensor, t_scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of pre-softmax attention scores [B, H, L, L] over (query, key) pairs that are both real tokens."""
    pair = (mask[:, None, :, None] * mask[:, None, None, :]).to(s_scores.dtype)  # [B, 1, L, L]
    diff = (s_scores.float() - t_scores.float()) ** 2 * pair
    return diff.sum() / (pair.sum() * s_scores.shape[1]).clamp_min(1)


def hidden_loss(s_hidden: torch.Tensor, t_hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of (already projected) hidden states [B, L, D] over real tokens."""
    m = mask[..., None].to(s_hidden.dtype)
    diff = (s_hidden.float() - t_hidden.float()) ** 2 * m
    return diff.sum() / (m.sum() * s_hidden.shape[-1]).clamp_min(1)


def soft_cross_entropy(
    s_logits: torch.Tensor, t_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Cross-entropy of the student's tempered distribution against the teacher's, mean over the batch."""
    t = F.softmax(t_logits.float() / temperature, -1)
    return -(t * F.log_softmax(s_logits.float() / temperature, -1)).sum(-1).mean()


def attention_modules(model) -> list:
    base = model.bert if hasattr(model, "bert") else model.base_model
    return [layer.attention.self for layer in base.encoder.layer]


@contextlib.contextmanager
def capture_scores(model):
    """Collect each layer's query/key projections during a forward; ``scores()`` gives Q·Kᵀ/√d.

    Computed from the same projections the model uses, so it works with any attention kernel
    (SDPA, flash), which return softmax outputs at best.
    """
    store: list[dict] = []
    handles = []
    mods = attention_modules(model)
    for i, mod in enumerate(mods):
        store.append({})

        def hook(name, i=i):
            def f(_m, _inp, out):
                store[i][name] = out

            return f

        handles.append(mod.query.register_forward_hook(hook("q")))
        handles.append(mod.key.register_forward_hook(hook("k")))
    heads = mods[0].num_attention_heads if hasattr(mods[0], "num_attention_heads") else None
    head_dim = mods[0].attention_head_size

    def scores() -> list[torch.Tensor]:
        out = []
        for s in store:
            q, k = s["q"], s["k"]
            b, n, _ = q.shape
            h = heads or q.shape[-1] // head_dim
            q = q.view(b, n, h, head_dim).transpose(1, 2)
            k = k.view(b, n, h, head_dim).transpose(1, 2)
            out.append(q @ k.transpose(-1, -2) / math.sqrt(head_dim))
        return out

    try:
        yield scores
    finally:
        for h in handles:
            h.remove()


class Projections(torch.nn.Module):
    """Learned W_h per student layer (and W_e for embeddings) from student to teacher width."""

    def __init__(self, n: int, d_student: int, d_teacher: int):
        super().__init__()
        self.maps = torch.nn.ModuleList(
            torch.nn.Linear(d_student, d_teacher) if d_student != d_teacher else torch.nn.Identity()
            for _ in range(n)
        )

    def forward(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return self.maps[i](x)


class Intermediate(Objective):
    """Stages 0 and 1: embeddings + hidden states + attention scores of the mapped layers."""

    name = "intermediate"

    def __init__(self, teacher, layer_map: list[int], projections: Projections, acc, weights=(1.0, 1.0, 1.0)):
        super().__init__()
        self.teacher, self.layer_map, self.acc = teacher, layer_map, acc
        self.w_emb, self.w_hidden, self.w_attn = weights
        self.modules = {"proj": projections}

    def __call__(self, model, batch):
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        mask = batch["attention_mask"]
        with torch.no_grad(), capture_scores(self.teacher) as t_sc, self.acc.autocast():
            t_out = self.teacher(**inputs, output_hidden_states=True)
            t_scores = [s.detach() for s in t_sc()]
        with capture_scores(self.acc.unwrap_model(model)) as s_sc:
            s_out = model(**inputs, output_hidden_states=True)
            s_scores = s_sc()
        proj = self.modules["proj"]
        loss_e = hidden_loss(proj(0, s_out.hidden_states[0]), t_out.hidden_states[0], mask)
        loss_h = sum(
            hidden_loss(proj(m + 1, s_out.hidden_states[m + 1]), t_out.hidden_states[g], mask)
            for m, g in enumerate(self.layer_map)
        )
        loss_a = sum(attention_loss(s_scores[m], t_scores[g - 1], mask) for m, g in enumerate(self.layer_map))
        total = self.w_emb * loss_e + self.w_hidden * loss_h + self.w_attn * loss_a
        return total, {"emb": loss_e.detach(), "hidden": loss_h.detach(), "attn": loss_a.detach()}


class Prediction(Objective):
    """Stage 2: soft cross-entropy against cached teacher logits (row ``index`` of ``teacher_logits``),
    mixed with the true-label cross-entropy by ``hard_label_weight`` (rows labelled -100 have none)."""

    name = "prediction"

    def __init__(self, teacher_logits: np.ndarray, temperature: float = 1.0, hard_label_weight: float = 0.0):
        super().__init__()
        self.t_logits = torch.from_numpy(teacher_logits)
        self.temperature, self.hard_label_weight = temperature, hard_label_weight

    def __call__(self, model, batch):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        t = self.t_logits[batch["index"].cpu()].to(logits.device)
        loss = soft_cross_entropy(logits, t, self.temperature)
        if self.hard_label_weight > 0:
            hard = F.cross_entropy(logits.float(), batch["labels"])
            loss = (1 - self.hard_label_weight) * loss + self.hard_label_weight * hard
        return loss, {}
