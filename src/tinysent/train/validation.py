"""A trained model's validation split, rebuilt from the config saved with it (the same data, seed and
fractions), and the evaluator its run selected checkpoints with: what ``tinysent soup`` and
``tinysent select`` compare models by, so that every choice between models is the choice a run makes
between its own checkpoints, on rows no model learned from. No test set is read here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tinysent.core.meta import ModelMeta
from tinysent.core.normalize import Normalizer
from tinysent.data.config import TrainConfig


def run_config(folder: str | Path) -> TrainConfig:
    """The training config recorded in ``folder``'s tinysent.json (a fine-tuned, distilled or soup
    model: the data options are shared), with the model's max length."""
    meta = ModelMeta.load(folder)
    return TrainConfig.from_dict({**meta.config, "max_length": meta.max_length})


def validation_evaluator(folder: str | Path) -> Callable:
    """``evaluate(model) -> dict`` with ``val_score`` (the number the run selected on: a labelled
    task's metric, the sentiment mix's score, Sentiment140's accuracy) on ``folder``'s validation split,
    tokenised with its tokenizer. Models of one task share the split (same data options and seed)."""
    from tinysent.train.models import load_tokenizer

    meta = ModelMeta.load(folder)
    cfg = run_config(folder)
    tokenizer, normalizer = load_tokenizer(Path(folder)), Normalizer(meta.normalizer_config)
    if cfg.task_kind == "labelled":
        from tinysent.data.task import task_validation
        from tinysent.train.task import make_task_evaluator

        return make_task_evaluator(task_validation(cfg, tokenizer, normalizer, meta.max_length), cfg.metric)
    if cfg.task_kind == "sentiment-mix":
        from tinysent.data.mixed import prepare_mixed
        from tinysent.train.three_class import make_evaluator

        # the Sentiment140 validation split does not depend on the training sample's size
        small = replace(cfg, max_train=2) if cfg.train_data and cfg.max_train != 0 else cfg
        return make_evaluator(prepare_mixed(small, tokenizer, normalizer))
    from tinysent.data.tokens import validation_split
    from tinysent.train.loop import model_logits

    prep = validation_split(folder, tokenizer)

    def evaluate(model) -> dict:
        pred = model_logits(model, prep.val_ids).argmax(-1)
        acc = float((pred == prep.val_labels).mean())
        return {"val_score": acc, "val_accuracy": acc, "val_n": len(prep.val_labels)}

    return evaluate


def validation_key(folder: str | Path) -> dict:
    """What decides a model's validation split: models compared by :func:`validation_evaluator` must
    agree on it (else one would be scored on rows another learned from)."""
    cfg = run_config(folder)
    keys = ("train_data", "val_data", "val_fraction", "max_val", "seed", "dedupe", "handlabelled_data")
    keys += ("tweeteval_data", "handlabelled_holdout", "num_labels", "metric", "label_mapping")

    def same(v):  # a path written two ways is one path
        return str(Path(v).resolve()) if isinstance(v, str) and Path(v).exists() else v

    key = {k: same(getattr(cfg, k)) for k in keys}
    # the share held out as it was taken (none given: the task's default); with --val-data, none is
    key["val_fraction"] = cfg.validation_fraction if cfg.val_data is None else None
    return key
