"""Distilling your own labelled task into the 4-layer student: prediction-layer distillation (the
teacher's logits, soft cross-entropy, optionally mixed with the true labels) on the training rows,
plus any unlabelled tweets of the domain, which the teacher labels.

The student starts from the shipped model's encoder by default (4 layers × 312, the same tokenizer
and normaliser as every tinysent model) with a head for the task's labels; the teacher may be any
model trained on the task, with its own tokenizer (it reads the raw texts).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tinysent.core.errors import InputError, MissingFileError
from tinysent.core.files import cached_text_rows, file_sha256, outputs_cache_file
from tinysent.core.meta import ModelMeta
from tinysent.core.normalize import Normalizer
from tinysent.core.numerics import log_softmax
from tinysent.core.tokenize import encode
from tinysent.data.config import TrainConfig
from tinysent.train import run
from tinysent.train.distill.augment import augment
from tinysent.train.distill.losses import Prediction

log = logging.getLogger(__name__)


def teacher_rows(teacher_dir, texts: list[str], batch_size: int = 256, precision: str = "no"):
    """``rows(index)``: the teacher's logits for raw ``texts[i] for i in index``, through its own
    tokenizer and normaliser (any teacher works, whatever its vocabulary), under ``precision``'s
    autocast (no, bf16, fp16: the run's ``--mixed-precision``, as the student trains). The teacher
    loads, and tokenises every text, at the first call only: a pass whose rows are all cached never
    loads it."""
    from tinysent.runtime.predictor import load

    @functools.cache
    def teacher():
        pred = load(teacher_dir, backend="torch")
        return pred, pred.token_ids(texts)[0]

    def rows(index) -> np.ndarray:
        pred, ids = teacher()
        with autocast(precision, pred.backend.device):
            return pred.logits([ids[i] for i in index], batch_size).astype(np.float32)

    return rows


def autocast(precision: str | None, device):
    """torch's autocast context for ``precision`` (an accelerator's ``mixed_precision``: no, bf16 or
    fp16) on ``device``, for model calls outside the accelerator (a teacher's pass through
    :class:`~tinysent.runtime.predictor.Predictor`)."""
    import contextlib

    import torch

    if precision in (None, "no"):
        return contextlib.nullcontext()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return torch.autocast(torch.device(device).type, dtype=dtype)


def teacher_cache(cache, kind: str, teacher_dir, texts: list[str], extra: str = "", precision: str = "no"):
    """(file, owner) of a cached teacher pass (:func:`~tinysent.core.files.cached_text_rows`): keyed,
    and owned, by the kind of output, the teacher's weights, the texts and anything else the rows
    depend on (a temperature, the pass's autocast precision: a bf16 pass is never read back by an
    fp32 run, nor the reverse)."""
    extra += precision_key(precision)
    path = outputs_cache_file(cache, kind, teacher_dir, texts, extra)
    return path, f"{kind} {file_sha256(Path(teacher_dir) / 'model.safetensors')} {extra}"


def precision_key(precision: str) -> str:
    """What a cached pass's key adds for its precision: nothing for fp32 (the keys passes always had)."""
    return "" if precision in (None, "no") else f" autocast={precision}"


def teacher_logits(
    teacher_dir, texts: list[str], batch_size: int = 256, cache=None, precision: str = "no"
) -> np.ndarray:
    """The teacher's logits for raw ``texts``; with ``cache`` (a folder) stored there, so a rerun on
    the same tweets skips the teacher's pass (or resumes it), and a pass over other tweets reuses the
    rows of those it shares (:func:`~tinysent.core.files.cached_text_rows`)."""
    rows = teacher_rows(teacher_dir, texts, batch_size, precision)
    if cache is None:
        return rows(range(len(texts)))
    path, owner = teacher_cache(cache, "teacher_logits", teacher_dir, texts, "", precision)
    return cached_text_rows(path, texts, owner, rows)


def unlabelled_texts(path) -> list[str]:
    p = Path(path)
    try:
        return [t for t in p.read_text(encoding="utf-8").splitlines() if t.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise MissingFileError(f"cannot read --unlabelled {p}: {e}") from None


def with_unlabelled(cfg, ids: list, labels: np.ndarray, normalizer, tokenizer, max_length: int):
    """The transfer set plus the ``--unlabelled`` tweets (none: unchanged) and their ``--augment``
    copies: their token ids appended with hard label -100 (the loss's ignore index: only the teacher
    teaches them), and their raw texts, which the teacher reads."""
    if not cfg.unlabelled:
        return ids, labels, []
    extra = [t for f in cfg.unlabelled for t in unlabelled_texts(f)]
    extra += augment(extra, cfg.augment, cfg.seed, progress=len(extra) * cfg.augment >= 100_000)
    ids = ids + encode(normalizer.many(extra), tokenizer, max_length)
    return ids, np.concatenate([labels, np.full(len(extra), -100)]), extra


def distill_task(cfg, progress: bool = True) -> dict:
    """A student for the labelled task in ``cfg.train_data`` (:mod:`tinysent.train.task`), selected on
    ``cfg.metric`` over the validation rows; a two-label student gets its threshold there too."""

    from tinysent.data.task import prepare_task
    from tinysent.train.models import (
        count_parameters,
        load_classifier,
        load_tokenizer,
        require_safetensors,
        resolve_base,
    )
    from tinysent.train.task import make_task_evaluator, with_threshold

    student_name = cfg.student_model
    if not isinstance(student_name, str) or student_name.startswith(("prune:", "layers:")):
        raise InputError(
            "distilling a labelled task needs --student MODEL (a folder or preset; default: shipped)"
        )
    require_safetensors(Path(cfg.teacher), "--teacher")
    t_meta = ModelMeta.load(cfg.teacher, required=True)
    r = run.start(cfg, progress)
    base = resolve_base(student_name)
    s_meta = ModelMeta.load(base)  # the student's normaliser (defaults for a plain checkpoint)
    normalizer = Normalizer(s_meta.normalizer_config)
    prep = prepare_task(TrainConfig.from_dict(asdict(cfg)), load_tokenizer(base), normalizer)
    labels = list(prep.names)
    if sorted(labels) == sorted(t_meta.labels) and labels != list(t_meta.labels):
        # the same label set in another order: labels are matched by name, in the teacher's order
        order = np.array([list(t_meta.labels).index(n) for n in labels], dtype=np.int64)
        prep.train_labels, prep.val_labels = order[prep.train_labels], order[prep.val_labels]
        prep.names, labels = tuple(t_meta.labels), list(t_meta.labels)
    if labels != list(t_meta.labels):
        raise InputError(
            f"the teacher answers {', '.join(t_meta.labels)} but the data's labels are {', '.join(labels)}: "
            "distil a teacher trained on this task (or name the labels as the teacher does, with "
            "--label-mapping)"
        )
    student, tokenizer, _, _ = load_classifier(base, labels=labels)
    ids, hard, texts = prep.train_ids, prep.train_labels, list(prep.train_texts)
    ids, hard, extra = with_unlabelled(cfg, ids, hard, normalizer, tokenizer, prep.max_length)
    texts += extra
    for d in cfg.ensemble:
        if list(ModelMeta.load(d, required=True).labels) != labels:
            raise InputError(f"--ensemble {d} answers other labels than the data's {', '.join(labels)}")
    # an ensemble teacher: the mean of the teachers' log-probabilities (a geometric mean of their
    # probabilities), read by the loss as logits
    cache = cfg.teacher_cache_dir
    precision = r.acc.mixed_precision  # the teachers' pass runs as the student trains
    each = [log_softmax(teacher_logits(d, texts, cfg.batch_size * 4, cache, precision)) for d in cfg.teachers]
    targets = np.mean(each, 0)
    meta = r.meta(
        prep,
        base_model=student_name,
        normalizer=s_meta.normalizer,
        rows=len(ids),
        labels=labels,
        method="distill",
        teacher_meta={"base_model": t_meta.base_model, "metrics": t_meta.metrics},
    )
    evaluator = make_task_evaluator(prep, cfg.metric, cfg.batch_size * 4)

    def threshold(best: dict) -> dict:  # as fine-tuning does: the threshold chosen on validation
        return with_threshold(meta, best, evaluator, prep, cfg.metric)

    res, jlog = r.fit_stage(
        student,
        Prediction(targets, cfg.distill_temperature, cfg.hard_label_weight),
        ids,
        hard,
        stage="stage2",
        loop=cfg.stage_loop("stage2"),
        start={"config": asdict(cfg), **prep.stats, "transfer_rows": len(ids)},
        on_best=r.saver(tokenizer, meta, threshold if len(labels) == 2 else None),
        evaluator=evaluator,
    )
    summary = {
        "stages": {"stage2": res},
        "best": res["best"],
        "sizes": {"student_params": count_parameters(student)},
        "data": prep.stats,
    }
    jlog.write({"type": "end", **summary})
    return summary
