"""Parity: an export's labels against the PyTorch model it came from, on reference tweets (every
export) and on the model's own validation data (``tinysent export --validate``; never a test set)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinysent.core.errors import ParityError
from tinysent.core.labels import SENTIMENT3, polar
from tinysent.runtime.backends import OnnxBackend
from tinysent.runtime.predictor import Predictor

# The original notebook's sentences (the first three as it printed them), plus six of the same kind:
# its collapsed head called every one of them positive. The smoke table of every evaluation.
SMOKE_SENTENCES = [
    "I am doing well",
    "Disaster!",
    "I am not feeling confident",
    "What a wonderful day",
    "This is the worst service ever",
    "I love this phone",
    "I hate Mondays",
    "The movie was okay, nothing special",
    "Can't wait to see you tomorrow!",
]

# Reference tweets for the parity check when no file is given: varied length, emoji, emoticons.
REFERENCE = SMOKE_SENTENCES + [
    "@user omg this is sooo good :) http://t.co/x",
    "worst. day. ever. my phone died and I missed the bus :(",
    "not bad at all, actually kind of great",
    "I can't believe it's already Monday again...",
    "Just finished the marathon!!! 😂❤",
    "meh",
    "",
    "the new update broke everything, thanks a lot",
    "love love love this song " * 8,
]


# How a model's recheck margin is chosen (scripts/research/int8_recheck.py measures the tables; the shipped
# model's 0.06 and tinysent-6l's 0.15 came from this rule): the smallest margin on the grid whose label
# agreement with fp32, on unlabelled tweets that are neither validation nor test, is >= TARGET for
# every decision the model makes (its 3-class answer and its binary one).
RECHECK_GRID = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2)
RECHECK_TARGET = 0.997


def recheck_table(rule, l32: np.ndarray, l8: np.ndarray, decision, grid=RECHECK_GRID) -> list[dict]:
    """Per margin of ``grid``: the share of texts the default path rescores in fp32, and its label
    agreement with fp32 (a rescored text takes fp32's label). ``rule``: the model's LabelModel;
    ``l32`` / ``l8``: fp32 and int8-alone logits of the same texts; ``decision``: ``rule.decision()``."""
    binary = decision != "argmax"
    differs = np.array(rule.labels(rule.proba(l8), binary=binary)) != np.array(
        rule.labels(rule.proba(l32), binary=binary)
    )
    m = rule.margin(l8, decision)
    return [
        {"margin": d, "rechecked": float((m < d).mean()), "agreement": float(1 - (differs & (m >= d)).mean())}
        for d in grid
    ]


def choose_recheck_margin(tables: list[list[dict]], target: float = RECHECK_TARGET) -> float | None:
    """The smallest margin whose agreement is >= ``target`` in every table (one per decision, from
    :func:`recheck_table` on the same grid); None when no margin on the grid reaches it."""
    for rows in zip(*tables):
        if all(r["agreement"] >= target for r in rows):
            return rows[0]["margin"]
    return None


def check_parity(
    ref: Predictor, folder: Path, files: dict, recheck_margin: float, texts: list[str], min_agreement: float
) -> dict:
    """Each ONNX file in ``files`` (kind -> name; int8 as loaded, with its recheck, and alone) against
    ``ref`` (PyTorch) on ``texts``: label agreement and the largest probability difference. Raises
    :class:`ParityError` below ``min_agreement`` (int8 alone is reported, not judged)."""
    p_ref, _ = ref.positive_share(texts)
    labels_ref = polar(p_ref, ref.threshold)
    report = {"reference_n": len(texts)}
    sessions = {k: OnnxBackend(folder / files[k]) for k in ("fp32", "int8", "int8_avx2") if k in files}
    runs = {"fp32": ("fp32", 0.0)}  # report key: (file, recheck margin)
    for k in ("int8", "int8_avx2"):
        if k in sessions:
            runs.update({f"{k}_alone": (k, 0.0), k: (k, recheck_margin)})
    for kind, (file_kind, margin) in runs.items():
        check = sessions["fp32"] if margin else None
        pred = Predictor(sessions[file_kind], ref.tokenizer, ref.meta, folder, None, check, margin)
        p, _ = pred.positive_share(texts)
        agree = float(np.mean(polar(p, ref.threshold) == labels_ref))
        report[kind] = {"label_agreement": agree, "max_abs_prob_diff": float(np.max(np.abs(p - p_ref)))}
        if margin:
            report[kind]["recheck_margin"], report[kind]["rechecked"] = recheck_margin, pred.rechecked
        if agree < min_agreement and not kind.endswith("_alone"):
            raise ParityError(
                f"{kind} ONNX agrees with PyTorch on {agree:.2%} of labels (< {min_agreement:.1%})"
            )
    return report


def validation_inputs(model_dir: str | Path, train_data: str | None = None) -> list[Path]:
    """The data files and folders :func:`validation_agreement` will read for ``model_dir`` (from the
    task its config records), so a command can refuse before it writes anything when one is gone."""
    from tinysent.train.validation import run_config

    cfg = run_config(model_dir)
    data = train_data or cfg.train_data
    if cfg.task_kind == "labelled":
        paths = [data, cfg.val_data]
    elif cfg.task_kind == "sentiment-mix":
        paths = [cfg.tweeteval_data, cfg.handlabelled_data if cfg.handlabelled_holdout else None, data]
    else:  # Sentiment140: its file, or the cached download when the config names none
        paths = [data]
    return [Path(x) for x in paths if x]


def validation_agreement(
    model_dir: str | Path, onnx_dir: str | Path, train_data: str | None = None, precision: str = "auto"
) -> dict:
    """The ONNX export against the PyTorch model on the model's own validation data (rebuilt from its
    saved config): accuracy of both, label agreement, probability differences. Quantization choices
    are judged here, never on the test set. A 3-class model is compared on TweetEval's validation
    split (its most probable class) and, when it was trained with Sentiment140 rows, on their
    validation split too (P(pos) vs P(neg)). A model of your own labels is compared on its task's
    validation rows (as its run split them) by its own decision (threshold or argmax). The export is
    used as :func:`tinysent.load` uses it (int8: with its fp32 recheck and token cap);
    ``*_int8_alone`` keys give int8 without the recheck."""
    import time

    from tinysent.core.meta import ModelMeta
    from tinysent.train.validation import run_config

    cfg = run_config(model_dir)  # the task the model was trained on, as its config records it
    ref = Predictor.from_dir(model_dir, backend="torch", device="cpu")
    q = Predictor.from_dir(onnx_dir, backend="onnx", precision=precision)
    doc = {
        "model": str(model_dir),
        "onnx": str(Path(onnx_dir) / q.backend.file.name),
        "recheck_margin": q.recheck_margin,
        "max_tokens": q.max_tokens,
    }

    def agreement(key: str, ids, decision, label) -> tuple[np.ndarray, np.ndarray]:
        """fp32 and as-loaded ONNX logits; the agreement of int8 alone too, when there is a recheck."""
        l32 = ref.logits(ids, 256)
        if q.recheck is not None:
            doc[key + "_int8_alone"] = float((label(q.logits(ids, 256)) == label(l32)).mean())
        before = q.rechecked
        lq = q.logits(ids, 256, decision)
        doc[key.replace("label_agreement", "rechecked")] = (q.rechecked - before) / max(1, len(ids))
        return l32, lq

    if cfg.task_kind == "labelled":
        from dataclasses import replace

        from tinysent.core.normalize import Normalizer
        from tinysent.data.task import task_validation
        from tinysent.train.models import load_tokenizer

        if train_data:
            cfg = replace(cfg, train_data=train_data)
        tokenizer, normalizer = load_tokenizer(Path(model_dir)), Normalizer(ref.meta.normalizer_config)
        task = task_validation(cfg, tokenizer, normalizer, ref.meta.max_length)
        rule = ref.labels

        def says(lg):  # the model's own rule: a two-label task's threshold, else the argmax
            return rule.classes(rule.proba(lg))

        y = np.asarray(task.val_labels)
        l32, lq = agreement("label_agreement", task.val_ids, rule.decision(), says)
        a32, a8 = says(l32), says(lq)
        doc.update(
            validation_is=task.stats["validation"],
            val_n=int(len(y)),
            val_accuracy_torch_fp32=float((a32 == y).mean()),
            val_accuracy_onnx=float((a8 == y).mean()),
            label_agreement=float((a32 == a8).mean()),
        )
        doc["date"] = time.strftime("%Y-%m-%d")
        return doc
    if cfg.task_kind == "sentiment-mix":
        from tinysent.data.semeval import classes3, validation3_of

        val, on = validation3_of(ModelMeta.load(model_dir).config)
        doc["tweeteval_val_is"] = on  # the keys keep their names; this says which split they measured
        y = classes3(val.polarity)
        ids, _ = ref.token_ids(val.texts)

        def decide(lg):  # the model's own 3-class rule (temperature, class bias), classes3's order
            return ref.labels.classes_among(ref.labels.proba(lg), SENTIMENT3)

        l32, lq = agreement("tweeteval_val_label_agreement", ids, "argmax", decide)
        a32, a8 = decide(l32), decide(lq)
        doc.update(
            tweeteval_val_n=int(len(y)),
            tweeteval_val_accuracy_torch_fp32=float((a32 == y).mean()),
            tweeteval_val_accuracy_onnx=float((a8 == y).mean()),
            tweeteval_val_label_agreement=float((a32 == a8).mean()),
        )
    if cfg.task_kind != "sentiment-mix" or ModelMeta.load(model_dir).config.get("train_data") or train_data:
        from tinysent.data.tokens import validation_split
        from tinysent.train.models import load_tokenizer

        prep = validation_split(model_dir, load_tokenizer(Path(model_dir)), train_data)
        y = np.asarray(prep.val_labels)
        rule = ref.labels  # the model's binary answer: its temperature and threshold (0.5 on the share)

        def positive(lg):
            return np.array(rule.labels(rule.proba(lg), binary=True)) == "positive"

        decision = rule.decision(binary=True)
        l32, lq = agreement("label_agreement", prep.val_ids, decision, positive)
        p32, p8 = (rule.positive_share(rule.proba(z)) for z in (l32, lq))
        a32, a8 = positive(l32), positive(lq)
        doc.update(
            val_n=int(len(y)),
            val_accuracy_torch_fp32=float((a32 == y).mean()),
            val_accuracy_onnx=float((a8 == y).mean()),
            label_agreement=float((a32 == a8).mean()),
            mean_abs_prob_diff=float(np.abs(p32 - p8).mean()),
            max_abs_prob_diff=float(np.abs(p32 - p8).max()),
        )
    doc["date"] = time.strftime("%Y-%m-%d")
    return doc


def write_validation(model_dir: str | Path, onnx_dir: str | Path, train_data: str | None = None) -> dict:
    """:func:`validation_agreement`, also written to ``ONNX_DIR/validation.json`` (beside the model
    files, not among its pinned ones): what ``export --validate`` and ``pack --validate`` record."""
    import json

    doc = validation_agreement(model_dir, onnx_dir, train_data)
    Path(onnx_dir, "validation.json").write_text(json.dumps(doc, indent=2) + "\n")
    return doc
