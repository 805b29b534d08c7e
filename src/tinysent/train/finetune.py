"""Fine-tuning: seed → load the base model → prepare the data → :func:`trainer.fit` with
cross-entropy → save the best checkpoint (by validation accuracy), in that order."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

from tinysent.core.meta import ModelMeta
from tinysent.core.normalize import Normalizer, NormalizerConfig
from tinysent.data import sentiment140 as D
from tinysent.data.config import TrainConfig, git_commit
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
    from tinysent.train.batching import make_loader
    from tinysent.train.models import check_max_length, load_classifier, resolve_base

    cfg.check_files()
    if cfg.max_length is not None:
        check_max_length(resolve_base(cfg.base_model), cfg.max_length)
    r = run.start(cfg, progress)
    acc = r.acc
    norm_cfg = NormalizerConfig()
    val_loader = evaluator = None
    if cfg.labelled:  # your own labelled tweets, any label set (train/task.py)
        from tinysent.data.task import class_weights, prepare_task
        from tinysent.train.models import load_tokenizer
        from tinysent.train.task import make_task_evaluator, weighted_cross_entropy

        # The data first: a bad file is an error before any model is loaded.
        prep = prepare_task(cfg, load_tokenizer(resolve_base(cfg.base_model)), Normalizer(norm_cfg))
        labels = list(prep.names)
        model, tokenizer, _, load_info = load_classifier(cfg.base_model, labels=labels)
        train_ids, train_labels = prep.train_ids, prep.train_labels
        weights = class_weights(train_labels, len(labels)) if cfg.class_weights else None
        objective = weighted_cross_entropy(weights) if weights is not None else CrossEntropy()
        evaluator = make_task_evaluator(prep, cfg.metric, cfg.batch_size * 4)
    else:
        model, tokenizer, _, load_info = load_classifier(cfg.base_model, cfg.num_labels)
        if cfg.num_labels == 3:  # hand-labelled 3-class rows beside binary Sentiment140 rows
            from tinysent.data.mixed import prepare_mixed
            from tinysent.data.semeval import LABELS3
            from tinysent.train.three_class import MixedCrossEntropy, make_evaluator

            prep = prepare_mixed(cfg, tokenizer, Normalizer(norm_cfg))
            train_ids, train_labels, labels = prep.ids, prep.labels, list(LABELS3)
            objective = MixedCrossEntropy(prep.emoticon, cfg.binary_loss)
            evaluator = make_evaluator(prep, cfg.batch_size * 4)
        else:
            prep = prepare_data(cfg, tokenizer, Normalizer(norm_cfg), corpus)
            train_ids, train_labels, labels = prep.train_ids, prep.train_labels, ["negative", "positive"]
            objective = CrossEntropy()
            val_loader = acc.prepare(
                make_loader(prep.val_ids, prep.val_labels, cfg.batch_size * 4, cfg.seed, False)
            )
    if acc.is_main_process:
        log.info("data: %s", prep.stats)
    meta = ModelMeta(
        labels=labels,
        normalizer=norm_cfg.to_dict(),
        max_length=prep.max_length,
        base_model=str(cfg.base_model),
        data_sha256=prep.data_sha256,
        train_rows=len(train_ids),
        git_commit=git_commit(),
        config=asdict(cfg),
    )

    def threshold(best: dict) -> dict:  # a two-label task decides by a threshold: its metric's best
        from tinysent.train.task import with_threshold

        return with_threshold(meta, best, evaluator, prep, cfg.metric)

    two_label_task = cfg.labelled and len(labels) == 2
    start = {"processes": acc.num_processes, **prep.stats}
    res, jlog = r.fit_stage(
        model,
        objective,
        train_ids,
        train_labels,
        stage="train",
        loop=LoopConfig.take(cfg),
        start=start,
        on_best=r.saver(tokenizer, meta, threshold if two_label_task else None),
        evaluator=evaluator,
        val_loader=val_loader,
    )
    summary = dict(res)
    summary["data"] = prep.stats
    jlog.write({"type": "end", **summary})
    summary["loading"] = {"ignored": load_info["ignored"][:50], "initialised": load_info["initialised"]}
    return summary


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
