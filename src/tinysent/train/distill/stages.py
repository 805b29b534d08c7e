"""The distillation run: teacher → transfer set → student → stages 0, 1, 2 through the one training
loop (:func:`tinysent.train.loop.fit`) → the best student by validation accuracy.

Stage 0 (optional, general): intermediate losses against a pre-trained, not fine-tuned, teacher.
Stage 1 (intermediate): attention scores, hidden states and embeddings of the fine-tuned teacher.
Stage 2 (prediction): the teacher's logits, computed once and cached on disk.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from tinysent.core.errors import InputError, MissingFileError
from tinysent.core.files import cached_rows, file_sha256
from tinysent.core.meta import ModelMeta
from tinysent.core.normalize import Normalizer
from tinysent.data import sentiment140 as D
from tinysent.data.config import TrainConfig
from tinysent.data.tokens import prepare_data
from tinysent.train import checkpoint, run
from tinysent.train.batching import make_loader
from tinysent.train.distill.config import STAGES, DistillConfig
from tinysent.train.distill.losses import Intermediate, Prediction, Projections, uniform_layer_map
from tinysent.train.distill.students import make_student, pruned_student
from tinysent.train.loop import (
    LOG_FILE,
    JsonlLog,
    evaluate_loader,
    fit,
    model_logits,
    save_model,
)
from tinysent.train.models import require_safetensors

log = logging.getLogger(__name__)


def cached_teacher_logits(teacher, teacher_dir: Path, ids, batch_size: int, acc, out: Path) -> np.ndarray:
    """Teacher logits for every transfer tweet, stored in ``out`` under a key of the teacher's weights
    and the token ids (and the pass's autocast precision, when not fp32), so a rerun (or a resumed run)
    on the same transfer set skips the teacher's pass."""
    from tinysent.train.distill.task import precision_key

    weights = file_sha256(teacher_dir / "model.safetensors")
    h = hashlib.sha256((weights + precision_key(acc.mixed_precision)).encode())
    for row in ids:
        h.update(np.asarray(row, dtype=np.int32).tobytes() + b"|")
    path = out / f"teacher_logits-{h.hexdigest()[:16]}.npy"

    def compute(start: int, stop: int) -> np.ndarray:
        return model_logits(
            teacher, ids[start:stop], batch_size * 4, acc.autocast, progress=acc.is_main_process
        )

    return cached_rows(path, len(ids), compute, write=acc.is_main_process)


def require_model_folder(path: str | Path, role: str) -> Path:
    """``path`` as a model folder, or a clear error naming the option to fix."""
    path = Path(path)
    if not str(path) or not (path / "config.json").exists():
        raise MissingFileError(
            f"{role} {str(path)!r} is not a model folder (no config.json): pass --{role} DIR, "
            "a model trained with `tinysent train`"
        )
    return path


def load_teacher(path: str | Path, device):
    """A fine-tuned teacher folder, frozen, with its tokenizer and metadata; a clear error otherwise."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = require_safetensors(require_model_folder(path, "teacher"), "--teacher")
    from tinysent.train.models import quiet_transformers

    with quiet_transformers():
        teacher = AutoModelForSequenceClassification.from_pretrained(
            path, dtype=torch.float32, use_safetensors=True
        )
    teacher.to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher, AutoTokenizer.from_pretrained(path), ModelMeta.load(path)


def distill(cfg: DistillConfig, corpus: D.Corpus | None = None, progress: bool = True) -> dict:
    """Run stages 0–2 and save the best student (by validation accuracy, stage 2 or else stage 1).

    ``cfg`` is only read: the layers kept by pruning, the layer map used and the model sizes are
    results, in the returned summary and the student's ``tinysent.json``."""

    from tinysent.train.models import count_parameters, load_classifier

    cfg.check_files()
    if cfg.task_kind == "labelled":  # your own labelled task, any label set: prediction-layer only
        from tinysent.train.distill.task import distill_task

        return distill_task(cfg, progress)
    if cfg.task_kind == "sentiment-mix":
        return distill_mixed(cfg, progress)
    # find_unused: stage 1 leaves the classifier head out of the loss
    r = run.start(cfg, progress, find_unused=True)
    acc, out = r.acc, r.out
    teacher_dir = Path(cfg.teacher)
    teacher, tokenizer, t_meta = load_teacher(teacher_dir, acc.device)
    # The transfer set is prepared like training data (same split for the same data fields and seed).
    tcfg = TrainConfig.from_dict({**asdict(cfg), "max_length": t_meta.max_length})
    normalizer = Normalizer(t_meta.normalizer_config)
    prep = prepare_data(tcfg, tokenizer, normalizer, corpus)
    ids, labels = prep.train_ids, prep.train_labels
    layer_map = cfg.layer_map
    if isinstance(cfg.student_model, str) and cfg.student_model.startswith("prune:"):
        pick = np.random.default_rng(cfg.seed).permutation(len(ids))[: cfg.prune_calibration]
        calib = [ids[i] for i in sorted(pick)]
        student, layer_map = pruned_student(cfg.student_model, teacher, calib, layer_map)
        log.info("pruned the teacher to %s, keeping layers %s", cfg.student_model[6:], layer_map)
    else:
        student = make_student(cfg.student_model, teacher, cfg.seed)
    n_s, n_t = student.config.num_hidden_layers, teacher.config.num_hidden_layers
    layer_map = layer_map or uniform_layer_map(n_s, n_t)
    if len(layer_map) != n_s or any(not 1 <= g <= n_t for g in layer_map):
        raise InputError(f"layer map {layer_map} must give one teacher layer in 1..{n_t} per student layer")
    if student.config.num_attention_heads != teacher.config.num_attention_heads:
        raise InputError("attention distillation needs the same number of heads in student and teacher")
    sizes = {"student_params": count_parameters(student), "teacher_params": count_parameters(teacher)}
    from tinysent.train.distill.task import with_unlabelled

    ids, labels, _ = with_unlabelled(cfg, ids, labels, normalizer, tokenizer, prep.max_length)
    val_loader = acc.prepare(make_loader(prep.val_ids, prep.val_labels, cfg.batch_size * 4, 0, False))
    ck = (checkpoint.trainer_state(out) or {}).get("stage") if cfg.resume else None

    def wanted(stage: str) -> bool:
        """Run this stage: it has epochs and an interrupted run did not get past it."""
        return getattr(cfg, f"{stage}_epochs") > 0 and (
            ck not in STAGES or STAGES.index(stage) >= STAGES.index(ck)
        )

    jlog = JsonlLog(out / LOG_FILE, acc.is_main_process, append=ck is not None)
    if ck is None:
        jlog.write({"type": "start", "config": asdict(cfg), **prep.stats, "transfer_rows": len(ids)})
    proj = Projections(n_s + 1, student.config.hidden_size, teacher.config.hidden_size)
    weights = (cfg.embedding_weight, cfg.hidden_weight, cfg.attention_weight)
    common = dict(out=out, jlog=jlog, progress=progress)
    stages = {}

    if wanted("stage0"):
        general, _, _, _ = load_classifier(cfg.general_teacher)
        general.to(acc.device).eval()
        g_proj = Projections(n_s + 1, student.config.hidden_size, general.config.hidden_size)
        g_map = uniform_layer_map(n_s, general.config.num_hidden_layers)
        objective = Intermediate(general, g_map, g_proj, acc, weights)
        res = fit(
            student,
            objective,
            ids,
            labels,
            cfg.stage_loop("stage0"),
            acc,
            stage="stage0",
            resume=ck == "stage0",
            **common,
        )
        student, stages["stage0"] = res.pop("model"), res
        del general
    if wanted("stage1"):
        objective = Intermediate(teacher, layer_map, proj, acc, weights)
        res = fit(
            student,
            objective,
            ids,
            labels,
            cfg.stage_loop("stage1"),
            acc,
            stage="stage1",
            val_loader=val_loader,
            resume=ck == "stage1",
            **common,
        )
        student, stages["stage1"] = res.pop("model"), res
    meta = r.meta(
        prep,
        base_model=cfg.student_model,
        normalizer=t_meta.normalizer,
        rows=len(ids),
        method="distill",
        teacher_meta={"base_model": t_meta.base_model, "metrics": t_meta.metrics},
        resolved={"layer_map": layer_map, "sizes": sizes},
    )

    def on_best(model, best: dict) -> None:
        meta.metrics = {
            "validation": {
                k: best[k]
                for k in ("metric", best.get("metric", "val_accuracy"), "val_loss", "val_n", "step", "stage")
                if k in best
            }
        }
        save_model(model, tokenizer, out, meta, acc)

    if wanted("stage2"):
        cache = cfg.teacher_cache_dir
        t_logits = cached_teacher_logits(teacher, teacher_dir, ids, cfg.batch_size, acc, cache)
        objective = Prediction(t_logits, cfg.distill_temperature, cfg.hard_label_weight)
        res = fit(
            student,
            objective,
            ids,
            labels,
            cfg.stage_loop("stage2"),
            acc,
            stage="stage2",
            val_loader=val_loader,
            on_best=on_best,
            resume=ck == "stage2",
            **common,
        )
        student, stages["stage2"] = res.pop("model"), res
        best = res["best"]
    else:
        ev = evaluate_loader(student, val_loader, acc)
        best = {**ev, "step": stages.get("stage1", {}).get("steps", 0), "stage": "stage1"}
        on_best(student, best)
    summary = {"stages": stages, "best": best, "sizes": sizes, "layer_map": layer_map, "data": prep.stats}
    jlog.write({"type": "end", **summary})
    return summary


def distill_mixed(cfg: DistillConfig, progress: bool = True) -> dict:
    """A 3-class student from mixed sources by prediction-layer distillation: hand-labelled rows learn
    the teacher's three probabilities, Sentiment140 rows the (binary) teacher's P(pos) vs P(neg)
    share. Teachers read the raw texts with their own tokenizers (cached per text), so an MPNet
    teacher can teach a WordPiece student. The student (``--student``: a model folder or preset,
    e.g. the shipped binary model, whose head grows a neutral class) sets tokenizer and normaliser."""

    from tinysent.data.mixed import prepare_mixed
    from tinysent.data.semeval import LABELS3
    from tinysent.train.distill.task import with_unlabelled
    from tinysent.train.models import count_parameters, load_classifier
    from tinysent.train.three_class import MixedDistillation, make_evaluator, teacher_probs

    spec = cfg.student_model
    from_teacher = isinstance(spec, str) and spec.startswith(("prune:", "layers:"))
    if not isinstance(spec, str):
        raise InputError("3-class distillation needs --student MODEL, prune:SHAPE or layers:I,J,...")
    r = run.start(cfg, progress)
    teachers = [str(require_model_folder(d, "teacher")) for d in cfg.teachers]
    if from_teacher:  # the student is cut from the (first) teacher: its tokenizer, normaliser and head
        teacher, tokenizer, s_meta = load_teacher(teachers[0], "cpu")
        base = Path(teachers[0])
    else:
        student, tokenizer, base, _ = load_classifier(spec, 3)
        s_meta = ModelMeta.load(base)
    normalizer = Normalizer(s_meta.normalizer_config)
    tcfg = TrainConfig.from_dict(
        {**asdict(cfg), "max_length": s_meta.max_length if (base / "tinysent.json").exists() else None}
    )
    prep = prepare_mixed(tcfg, tokenizer, normalizer)
    if from_teacher:
        if s_meta.labels != list(LABELS3):
            raise InputError(
                f"{spec} needs a 3-class teacher ({', '.join(LABELS3)}); {teachers[0]} has {s_meta.labels}"
            )
        if spec.startswith("prune:"):
            pick = np.random.default_rng(cfg.seed).permutation(len(prep.ids))[: cfg.prune_calibration]
            student, kept = pruned_student(spec, teacher, [prep.ids[i] for i in sorted(pick)], cfg.layer_map)
            log.info("pruned the teacher to %s, keeping layers %s", spec[6:], kept)
        else:
            student = make_student(spec, teacher, cfg.seed)
        del teacher
        student.requires_grad_(True)  # cut from a frozen teacher
    ids, labels, texts, emoticon = prep.ids, prep.labels, list(prep.texts), prep.emoticon
    # rows that learn only the pos-vs-neg share: the emoticon rows, unless they are transfer tweets
    share = prep.emoticon if cfg.emoticon_targets == "share" else np.zeros(len(ids), bool)
    ids, labels, extra = with_unlabelled(cfg, ids, labels, normalizer, tokenizer, prep.max_length)
    if cfg.unlabelled:  # teacher-labelled rows: neither emoticon labels nor the share
        share, emoticon = (np.concatenate([m, np.zeros(len(extra), bool)]) for m in (share, emoticon))
        texts += extra
        prep.stats["unlabelled_rows"] = len(extra)
    targets = np.zeros((len(ids), 3), np.float32)
    texts = np.array(texts, dtype=object)
    t = cfg.distill_temperature  # the teachers' side of the soft cross-entropy is tempered like the student's
    cache = cfg.teacher_cache_dir
    # the --unlabelled rows (last) are cached on their own: adding tweets never relabels the rest
    n_own = len(ids) - len(extra)
    own = ~share
    own[n_own:] = False
    precision = r.acc.mixed_precision  # the teachers' pass runs as the student trains
    targets[own] = teacher_probs(teachers, list(texts[own]), cache, t, precision)
    if extra:
        targets[n_own:] = teacher_probs(teachers, extra, cache, t, precision)
    if share.any():
        binary = cfg.binary_teacher or teachers
        targets[share] = teacher_probs(binary, list(texts[share]), cache, t, precision)
    meta = r.meta(
        prep,
        base_model=cfg.student_model,
        normalizer=s_meta.normalizer,
        rows=len(ids),
        labels=LABELS3,
        method="distill",
        teacher_meta={"base_model": ModelMeta.load(cfg.teacher).base_model},
    )

    objective = MixedDistillation(targets, emoticon, cfg.distill_temperature, cfg.hard_label_weight, share)
    res, jlog = r.fit_stage(
        student,
        objective,
        ids,
        labels,
        stage="stage2",
        loop=cfg.stage_loop("stage2"),
        start={"config": asdict(cfg), **prep.stats},
        on_best=r.saver(tokenizer, meta),
        evaluator=make_evaluator(prep, cfg.batch_size * 4),
    )
    sizes = {"student_params": count_parameters(student)}
    summary = {"stages": {"stage2": res}, "best": res["best"], "sizes": sizes, "data": prep.stats}
    jlog.write({"type": "end", **summary})
    return summary
