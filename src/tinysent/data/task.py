"""Your own labelled tweets as a task's rows (numpy only): read, deduplicated, split (stratified,
seeded) and tokenised for the one loop; the class weights and a two-label task's threshold chosen on
validation probabilities. The training side (the weighted loss, the evaluator that selects):
:mod:`tinysent.train.task`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinysent.core.errors import DataError
from tinysent.core.files import file_sha256
from tinysent.core.metrics import task_score
from tinysent.core.normalize import Normalizer
from tinysent.core.tokenize import encode, truncate
from tinysent.data import sentiment140 as D
from tinysent.data.labelled import Labelled, data_format, read_labelled
from tinysent.data.tokens import Prepared, choose_max_length

log = logging.getLogger(__name__)


@dataclass
class TaskData(Prepared):
    """A labelled task tokenised for training: :class:`~tinysent.data.tokens.Prepared` (ids, labels,
    max length, provenance, the raw training texts that distillation's teacher reads) and the names of
    its labels."""

    names: tuple[str, ...] = ()


def read_task(cfg) -> tuple[Labelled, Labelled | None]:
    """(training rows, validation rows or None) as ``cfg`` names them: --val-data, else a TweetEval
    folder's val split, else None (split from the training rows)."""
    kw = cfg.read_options
    train = read_labelled(cfg.train_data, "train", **kw)
    train.check_trainable()
    val = None
    if cfg.val_data is not None:
        val = read_labelled(cfg.val_data, "val", names=train.names, **kw)
    elif data_format(cfg.train_data) == "tweeteval" and (Path(cfg.train_data) / "val_text.txt").exists():
        val = read_labelled(cfg.train_data, "val", names=train.names, **kw)
    return train, val


def split_task(cfg) -> tuple[Labelled, Labelled, dict]:
    """(training rows, validation rows, stats) as a run on ``cfg`` learns from them: read,
    deduplicated, split (stratified, seeded) when no validation rows are given, subsampled to
    ``cfg.max_train`` / ``cfg.max_val``. The learning curve's baselines read the same rows."""
    train, val = read_task(cfg)
    if cfg.metric.startswith("f1:") and cfg.metric[3:] not in train.names:
        raise DataError(f"--metric {cfg.metric}: no class {cfg.metric[3:]!r} in {', '.join(train.names)}")
    stats = {"labels": list(train.names), "rows_read": len(train), "problems": len(train.problems)}
    dup, conflicts = train.duplicates()
    stats.update(duplicates=dup, conflicting_texts=conflicts)
    if cfg.dedupe:
        train = train.deduplicated()
        stats["rows_after_dedupe"] = len(train)
    if val is None:
        tr, va = D.stratified_split(train.labels, cfg.validation_fraction, cfg.seed)
        train, val = train.subset(tr), train.subset(va)
        stats["validation"] = f"{cfg.validation_fraction:g} of the training file"
    else:
        stats["validation"] = val.source
        if cfg.dedupe:  # a validation tweet also in training would flatter the selection
            seen = set(train.texts)
            val = val.subset([i for i, t in enumerate(val.texts) if t not in seen])
    for rows, what in ((train, "training"), (val, "validation")):
        if not len(rows):
            raise DataError(
                f"{train.source}: no {what} rows left ({stats['rows_read']:,} read, "
                f"{len(train):,} to train on, {len(val):,} to validate on): label more tweets"
                + ("" if cfg.val_data else ", or give validation rows with --val-data")
            )
    if cfg.max_train and cfg.max_train < len(train):
        train = train.subset(D.stratified_sample(train.labels, cfg.max_train, cfg.seed))
    if cfg.max_val and cfg.max_val < len(val):
        val = val.subset(D.stratified_sample(val.labels, cfg.max_val, cfg.seed))
    return train, val, stats


def prepare_task(cfg, tokenizer, normalizer: Normalizer) -> TaskData:
    """:func:`split_task`, then normalised and tokenised."""
    train, val, stats = split_task(cfg)
    train_texts, val_texts = normalizer.many(train.texts), normalizer.many(val.texts)
    train_ids = encode(train_texts, tokenizer, None)  # tokenised once: lengths, then cut
    lengths = np.array([len(x) for x in train_ids])
    max_length = cfg.max_length or choose_max_length(lengths)[0]
    stats.update(
        train_rows=len(train),
        val_rows=len(val),
        train_counts=train.counts(),
        max_length=max_length,
        coverage=round(float((lengths <= max_length).mean()), 5),
    )
    return TaskData(
        train_ids=truncate(train_ids, max_length),
        train_labels=train.labels,
        val_ids=encode(val_texts, tokenizer, max_length),
        val_labels=val.labels,
        max_length=max_length,
        coverage=stats["coverage"],
        data_sha256=data_sha(cfg.train_data),
        stats=stats,
        train_texts=train.texts,
        names=train.names,
    )


def task_validation(cfg, tokenizer, normalizer: Normalizer, max_length: int) -> TaskData:
    """:func:`prepare_task`'s validation rows alone, for a model already trained on the task (its run
    chose ``max_length``, which its tinysent.json keeps): the rows are split as the run split them,
    and the training rows are never normalised or tokenised (calibrate, pack --validate and select
    need the validation rows only)."""
    train, val, stats = split_task(cfg)
    stats.update(train_rows=len(train), val_rows=len(val), max_length=max_length)
    return TaskData(
        train_ids=[],
        train_labels=train.labels[:0],
        val_ids=encode(normalizer.many(val.texts), tokenizer, max_length),
        val_labels=val.labels,
        max_length=max_length,
        coverage=float("nan"),  # of the training rows, which this does not tokenise
        data_sha256=None,
        stats=stats,
        names=train.names,
    )


def data_sha(path) -> str:
    """sha256 of a data file, or of a TweetEval folder's training files together."""
    p = Path(path)
    if p.is_dir():
        return "+".join(file_sha256(p / f)[:16] for f in ("train_text.txt", "train_labels.txt"))
    return file_sha256(p)


def class_weights(labels: np.ndarray, k: int) -> np.ndarray:
    """Inverse class frequency, scaled so a balanced set gets 1 for every class."""
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    return (len(labels) / (k * np.maximum(counts, 1))).astype(np.float32)


def best_threshold(p: np.ndarray, y: np.ndarray, metric: str, names) -> tuple[float, float]:
    """(threshold on P(names[1]), its validation score): the cut that maximises ``metric`` over the
    validation rows' own probabilities (ties: nearest 0.5)."""
    candidates = np.unique(np.r_[0.5, np.round(p, 4)])
    candidates = candidates[(candidates > 0.02) & (candidates < 0.98)]
    best = (0.5, task_score(metric, y, (p >= 0.5).astype(int), names))
    for t in candidates:
        s = task_score(metric, y, (p >= t).astype(int), names)
        if s > best[1] + 1e-12 or (abs(s - best[1]) <= 1e-12 and abs(t - 0.5) < abs(best[0] - 0.5)):
            best = (float(t), s)
    return best
