"""Fine-tuning: seed → load the base model → prepare the data → :func:`trainer.fit` with
cross-entropy → save the best checkpoint (by validation accuracy), in that order."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tinysent.core.normalize import Normalizer, NormalizerConfig
from tinysent.data import sentiment140 as D
from tinysent.data.config import TrainConfig
from tinysent.data.tokens import prepare_data
from tinysent.train.loop import (
    CrossEntropy,
    LoopConfig,
)

log = logging.getLogger(__name__)


def train(cfg: TrainConfig, corpus: D.Corpus | None = None, progress: bool = True) -> dict:
    """Fine-tune ``cfg.base`` on Sentiment140 (or the sentiment mix, or your own labelled tweets) and
    save the best checkpoint (by the validation metric: accuracy, the mix's score, or ``cfg.metric``).

    ``cfg.batch_size`` is the global batch: under N processes each takes 1/N of every batch, so the
    same command gives the same optimisation on 1 CPU or 8 GPUs. With ``cfg.resume`` a run continues
    from ``out/checkpoint`` (written at every evaluation) exactly where it stopped.
    """
    from tinysent.train import run
    from tinysent.train.models import check_max_length, resolve_base

    cfg.check_files()
    if cfg.max_length is not None:
        check_max_length(resolve_base(cfg.base_model), cfg.max_length)
    r = run.start(cfg, progress)
    acc = r.acc
    norm_cfg = NormalizerConfig()
    t = SETUP[cfg.task_kind](cfg, Normalizer(norm_cfg), acc, corpus)  # the task table
    prep, model, tokenizer, labels, evaluator = t.prep, t.model, t.tokenizer, t.names, t.evaluator
    if cfg.freeze_embeddings:  # the loop's optimizer and clipping take only what requires a gradient
        model.get_input_embeddings().weight.requires_grad_(False)
    train_ids, train_labels = t.ids, t.targets
    if acc.is_main_process:
        log.info("data: %s", prep.stats)
    meta = r.meta(
        prep, base_model=cfg.base_model, normalizer=norm_cfg.to_dict(), rows=len(train_ids), labels=labels
    )

    def threshold(best: dict) -> dict:  # a two-label task decides by a threshold: its metric's best
        from tinysent.train.task import with_threshold

        return with_threshold(meta, best, evaluator, prep, cfg.metric)

    two_label_task = cfg.labelled and len(labels) == 2
    start = {"processes": acc.num_processes, **prep.stats}
    res, jlog = r.fit_stage(
        model,
        t.objective,
        train_ids,
        train_labels,
        stage="train",
        loop=LoopConfig.take(cfg),
        start=start,
        on_best=r.saver(tokenizer, meta, threshold if two_label_task else None),
        evaluator=evaluator,
        val_loader=t.val_loader,
    )
    summary = dict(res)
    summary["data"] = prep.stats
    jlog.write({"type": "end", **summary})
    summary["loading"] = {"ignored": t.load_info["ignored"][:50], "initialised": t.load_info["initialised"]}
    return summary


@dataclass
class Setup:
    """What a task gives a fine-tuning run: its prepared rows, the model and tokenizer, the label
    names, the training targets, the objective, and how validation is scored."""

    prep: object
    model: object
    tokenizer: object
    load_info: dict
    names: list[str]
    ids: list
    targets: object
    objective: object
    evaluator: object = None
    val_loader: object = None


def _labelled(cfg, normalizer, acc, corpus=None) -> Setup:
    """Your own labelled tweets, any label set (data/task.py): the data first, so a bad file is an
    error before any model is loaded; the base's head rows kept by label name."""
    from tinysent.data.task import class_weights, prepare_task
    from tinysent.train.models import load_classifier, load_tokenizer, resolve_base
    from tinysent.train.task import make_task_evaluator, weighted_cross_entropy

    prep = prepare_task(cfg, load_tokenizer(resolve_base(cfg.base_model)), normalizer)
    names = list(prep.names)
    model, tokenizer, _, load_info = load_classifier(cfg.base_model, labels=names)
    weights = class_weights(prep.train_labels, len(names)) if cfg.class_weights else None
    objective = weighted_cross_entropy(weights) if weights is not None else CrossEntropy()
    evaluator = make_task_evaluator(prep, cfg.metric, cfg.batch_size * 4)
    return Setup(
        prep, model, tokenizer, load_info, names, prep.train_ids, prep.train_labels, objective, evaluator
    )


def _mix(cfg, normalizer, acc, corpus=None) -> Setup:
    """The 3-class mix: hand-labelled 3-class rows beside binary Sentiment140 rows (data/mixed.py)."""
    from tinysent.data.mixed import prepare_mixed
    from tinysent.data.semeval import LABELS3
    from tinysent.train.models import load_classifier
    from tinysent.train.three_class import MixedCrossEntropy, make_evaluator

    model, tokenizer, _, load_info = load_classifier(cfg.base_model, 3)
    prep = prepare_mixed(cfg, tokenizer, normalizer)
    objective = MixedCrossEntropy(prep.emoticon, cfg.binary_loss)
    evaluator = make_evaluator(prep, cfg.batch_size * 4)
    return Setup(
        prep, model, tokenizer, load_info, list(LABELS3), prep.ids, prep.labels, objective, evaluator
    )


def _sentiment140(cfg, normalizer, acc, corpus=None) -> Setup:
    """Binary Sentiment140: negative / positive, validation accuracy on a held-out share."""
    from tinysent.train.batching import make_loader
    from tinysent.train.models import load_classifier

    model, tokenizer, _, load_info = load_classifier(cfg.base_model, 2)
    prep = prepare_data(cfg, tokenizer, normalizer, corpus)
    loader = acc.prepare(make_loader(prep.val_ids, prep.val_labels, cfg.batch_size * 4, cfg.seed, False))
    names = ["negative", "positive"]
    setup = Setup(prep, model, tokenizer, load_info, names, prep.train_ids, prep.train_labels, CrossEntropy())
    setup.val_loader = loader
    return setup


SETUP = {"labelled": _labelled, "sentiment-mix": _mix, "sentiment140": _sentiment140}


def train_seeds(cfg: TrainConfig, seeds: int, progress: bool = True) -> dict:
    """Train ``seeds`` models (seeds S..S+N-1) into OUT/seed-S and summarise their best validation
    validation metric (mean ± std, in OUT/seeds.json; ``tinysent report --model OUT`` shows them)."""
    import json
    import statistics
    from dataclasses import replace

    runs = []
    for seed in range(cfg.seed, cfg.seed + seeds):
        one = replace(cfg, seed=seed, out=str(Path(cfg.out) / f"seed-{seed}"))
        runs.append({"seed": seed, "out": one.out, "best": train(one, progress=progress)["best"]})
    metric = runs[0]["best"].get("metric", "val_accuracy")  # what each run selected on
    scores = [r["best"][metric] for r in runs]
    summary = {
        "seeds": runs,
        "metric": metric,
        f"{metric}_mean": statistics.mean(scores),
        f"{metric}_std": statistics.stdev(scores),
    }
    Path(cfg.out, "seeds.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
