"""Training 3-class models from mixed sources (their rows, and why a binary row supervises the
3-class head as it does: :mod:`tinysent.data.mixed`): the objectives (cross-entropy with binary rows,
distillation from teachers' probabilities), the validation evaluator, the teachers' cached outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tinysent.core.errors import InputError
from tinysent.core.files import cached_text_rows
from tinysent.core.metrics import macro_recall
from tinysent.data.mixed import NEG, POS, SHARE, MixedData
from tinysent.train.loop import Objective


def share_log_probs(logits: torch.Tensor) -> torch.Tensor:
    """log [P(neg), P(pos)] renormalised over the two: what a binary label can judge."""
    return F.log_softmax(logits.float()[:, SHARE], -1)


class MixedCrossEntropy(Objective):
    """Cross-entropy against true labels; binary rows as ordinary 3-class labels (``"full"``) or
    through the pos-vs-neg share only (``"share"``)."""

    name = "mixed-cross-entropy"

    def __init__(self, emoticon: np.ndarray, binary_loss: str = "full"):
        super().__init__()
        if binary_loss not in ("share", "full"):
            raise InputError(f"binary_loss must be share or full (got {binary_loss!r})")
        self.emoticon, self.mode = torch.from_numpy(np.asarray(emoticon, bool)), binary_loss

    def __call__(self, model, batch):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        y = batch["labels"]
        b = self.emoticon[batch["index"].cpu()].to(logits.device)
        if self.mode == "full" or not b.any():
            return F.cross_entropy(logits.float(), y), {}
        per = torch.empty(len(y), device=logits.device)
        if (~b).any():
            per[~b] = F.cross_entropy(logits[~b].float(), y[~b], reduction="none")
        per[b] = F.nll_loss(share_log_probs(logits[b]), (y[b] == POS).long(), reduction="none")
        return per.mean(), {}


class MixedDistillation(Objective):
    """Soft cross-entropy against teacher probabilities (row ``index`` of ``targets`` [N, 3]); rows
    marked ``share`` (default: the ``emoticon`` rows) against the teacher's pos-vs-neg share only.
    ``hard_label_weight`` mixes in :class:`MixedCrossEntropy` over the rows with a label (unlabelled
    transfer rows carry -100), emoticon labels through the share: they say positive or negative, not
    whether a 3-class teacher's neutral is wrong."""

    name = "mixed-distillation"

    def __init__(
        self,
        targets: np.ndarray,
        emoticon: np.ndarray,
        temperature: float = 1.0,
        hard_label_weight=0.0,
        share: np.ndarray | None = None,
    ):
        super().__init__()
        self.targets = torch.from_numpy(np.asarray(targets, np.float32))
        self.emoticon = torch.from_numpy(np.asarray(emoticon if share is None else share, bool))
        self.t, self.w = temperature, hard_label_weight
        self.hard = MixedCrossEntropy(emoticon, "share")

    def __call__(self, model, batch):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        idx = batch["index"].cpu()
        t = self.targets[idx].to(logits.device)
        b = self.emoticon[idx].to(logits.device)
        per = torch.zeros(len(idx), device=logits.device)
        if (~b).any():
            per[~b] = -(t[~b] * F.log_softmax(logits[~b] / self.t, -1)).sum(-1)
        if b.any():
            tb = t[b][:, SHARE]
            tb = tb / tb.sum(-1, keepdim=True).clamp_min(1e-12)
            per[b] = -(tb * F.log_softmax(logits[b][:, SHARE] / self.t, -1)).sum(-1)
        loss = per.mean()
        if self.w > 0 and (batch["labels"] != -100).any():
            hard, _ = self.hard(model, {**batch, "labels": batch["labels"]})
            loss = (1 - self.w) * loss + self.w * hard
        return loss, {}


def make_evaluator(data: MixedData, batch_size: int = 256):
    """Validation for 3-class training: TweetEval val macro recall and accuracy; Sentiment140 val
    accuracy by P(pos) vs P(neg); ``val_score`` = their mean (the selection metric)."""
    from tinysent.train.loop import model_logits

    def evaluate(model) -> dict:
        was_training = model.training
        z3 = model_logits(model, data.val3_ids, batch_size)
        ev = {
            "val3_macro_recall": macro_recall(data.val3_labels, z3.argmax(-1)),
            "val3_accuracy": float((z3.argmax(-1) == data.val3_labels).mean()),
            "val3_n": len(data.val3_labels),
            "val_loss": float(
                F.cross_entropy(torch.from_numpy(z3), torch.from_numpy(data.val3_labels)).item()
            ),
        }
        scores = [ev["val3_macro_recall"]]
        if len(data.val2_ids):
            z2 = model_logits(model, data.val2_ids, batch_size)
            pred = np.where(z2[:, POS] >= z2[:, NEG], POS, NEG)
            ev.update(val2_accuracy=float((pred == data.val2_labels).mean()), val2_n=len(data.val2_labels))
            scores.append(ev["val2_accuracy"])
        ev["val_score"] = float(np.mean(scores))  # what a 3-class run selects on (LoopConfig.select)
        ev["val_n"] = ev["val3_n"] + ev.get("val2_n", 0)
        if was_training:
            model.train()
        return ev

    return evaluate


def teacher_probs(
    teacher_dir: str | Path | list,
    texts: list[str],
    cache: Path,
    temperature: float = 1.0,
    precision: str = "no",
) -> np.ndarray:
    """A teacher folder's class probabilities [N, 3] for raw-normalised ``texts``, computed with the
    teacher's own tokenizer (so any teacher works, whatever its vocabulary) and cached on disk under
    the teacher's weights and the texts. A binary teacher's [neg, pos] become [neg, 0, pos]. A list of
    folders is an ensemble: the mean of their probabilities. ``precision``: the pass's autocast
    (:func:`~tinysent.train.distill.task.teacher_rows`), part of the cache's key."""
    from tinysent.core.numerics import softmax
    from tinysent.train.distill.task import teacher_cache, teacher_rows

    if isinstance(teacher_dir, (list, tuple)):
        each = [teacher_probs(d, texts, cache, temperature, precision) for d in teacher_dir]
        return np.mean(each, 0).astype(np.float32)
    logits = teacher_rows(teacher_dir, texts, precision=precision)

    def compute(index) -> np.ndarray:
        p = softmax(logits(index), temperature)
        if p.shape[1] == 2:
            p = np.stack([p[:, 0], np.zeros(len(p)), p[:, 1]], 1)
        return p.astype(np.float32)

    path, owner = teacher_cache(cache, "teacher_probs", teacher_dir, texts, str(temperature), precision)
    return cached_text_rows(path, texts, owner, compute)
