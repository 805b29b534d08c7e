"""Training on your own labelled tweets (any label set): the weighted loss, the validation
evaluator the loop selects with, and a two-label task's threshold set on the best checkpoint. The rows
themselves: :mod:`tinysent.data.task`.
"""

from __future__ import annotations

import numpy as np

from tinysent.core.metrics import task_score
from tinysent.data.task import TaskData, best_threshold


def weighted_cross_entropy(weights: np.ndarray):
    """Cross-entropy with per-class weights (``--class-weights``): a rare class counts as much as a
    common one in the loss."""
    import torch
    import torch.nn.functional as F

    from tinysent.train.loop import Objective

    class WeightedCrossEntropy(Objective):
        name = "weighted cross-entropy"

        def __call__(self, model, batch):
            inputs = {k: v for k, v in batch.items() if k not in ("index", "labels")}
            logits = model(**inputs).logits
            w = torch.as_tensor(weights, device=logits.device, dtype=logits.dtype)
            return F.cross_entropy(logits, batch["labels"], weight=w), {}

    return WeightedCrossEntropy()


def with_threshold(meta, best: dict, evaluator, data: TaskData, metric: str) -> dict:
    """A two-label task's threshold for ``metric``, chosen on the validation logits the evaluator just
    computed (the best checkpoint's), set on ``meta``; returns ``best`` with it and its score."""
    from tinysent.core.numerics import softmax

    p = softmax(evaluator.last_logits)[:, 1]
    meta.threshold, score = best_threshold(p, data.val_labels, metric, data.names)
    return {**best, "threshold": meta.threshold, "val_score_at_threshold": score}


def make_task_evaluator(data: TaskData, metric: str, batch_size: int = 256):
    """Validation for a labelled task: ``val_score`` = ``metric`` of the argmax (what the loop
    selects on), accuracy, loss."""
    import torch
    import torch.nn.functional as F

    from tinysent.train.loop import model_logits

    def evaluate(model) -> dict:
        was_training = model.training
        z = model_logits(model, data.val_ids, batch_size)
        evaluate.last_logits = z  # a two-label task's threshold is chosen on them (finetune.on_best)
        pred = z.argmax(-1)
        ev = {
            "val_score": task_score(metric, data.val_labels, pred, data.names),
            "val_metric": metric,
            "val_accuracy": float((pred == data.val_labels).mean()),
            "val_loss": float(F.cross_entropy(torch.from_numpy(z), torch.from_numpy(data.val_labels)).item()),
            "val_n": len(data.val_labels),
        }
        if was_training:
            model.train()
        return ev

    return evaluate
