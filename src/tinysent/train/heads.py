"""A classifier head's rows when a base model meets a task's labels: the rows of labels the base
already has are kept (by name), so training starts from what the base knows of them."""

from __future__ import annotations

from pathlib import Path

from tinysent.data.semeval import LABELS3


def keep_head_rows(model, base: Path, own: list[str], labels: tuple[str, ...]) -> list[str]:
    """Copy the base head's rows for the labels it shares with ``labels`` into ``model``'s fresh head
    (by name, any order), so that a negative/positive task started from the 3-class shipped model
    begins as that model's own negative-vs-positive answer; the other rows stay fresh. Returns the
    labels kept. Only a BERT-style single ``classifier`` layer is read; other heads are left fresh."""
    shared = [lab for lab in labels if lab in own]
    files = sorted(base.glob("*.safetensors"))
    if not shared or not hasattr(model.classifier, "weight"):
        return []
    import torch
    from safetensors import safe_open

    weight = bias = None
    for file in files:  # a sharded checkpoint keeps the head in one of its files
        with safe_open(str(file), framework="pt") as f:
            if {"classifier.weight", "classifier.bias"} <= set(f.keys()):
                weight, bias = f.get_tensor("classifier.weight"), f.get_tensor("classifier.bias")
                break
    if weight is None or weight.shape != (len(own), model.classifier.in_features):
        return []
    with torch.no_grad():
        for lab in shared:
            i, j = labels.index(lab), own.index(lab)
            model.classifier.weight[i] = weight[j].to(model.classifier.weight.dtype)
            model.classifier.bias[i] = bias[j].to(model.classifier.bias.dtype)
    return shared


def widen_to_three(model) -> None:
    """A negative/positive classifier → negative/neutral/positive, in place: the two rows of the head
    are kept (so P(pos) vs P(neg) is unchanged) and the neutral row starts at zero."""
    import torch

    old = model.classifier
    new = torch.nn.Linear(old.in_features, 3, dtype=old.weight.dtype)
    with torch.no_grad():
        new.weight.zero_()
        new.bias.zero_()
        new.weight[[0, 2]] = old.weight
        new.bias[[0, 2]] = old.bias
    model.classifier = new
    model.num_labels = model.config.num_labels = 3
    model.config.id2label = dict(enumerate(LABELS3))
    model.config.label2id = {lab: i for i, lab in enumerate(LABELS3)}
