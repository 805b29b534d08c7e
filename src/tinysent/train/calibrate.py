"""Calibration: temperature scaling fitted on the model's own validation split (rebuilt from the
config saved with the model: same data, seed and fractions), stored in tinysent.json and applied by
predict; and the expected calibration error that judges it."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from tinysent.core.errors import InputError
from tinysent.core.meta import ModelMeta
from tinysent.core.metrics import binary_metrics, expected_calibration_error, macro_recall
from tinysent.core.numerics import softmax
from tinysent.data.tokens import validation_split
from tinysent.train.models import load_tokenizer

log = logging.getLogger(__name__)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the validation negative log-likelihood (scipy's bounded search on log T,
    T in [0.05, 20])."""
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits, float)
    y = np.asarray(y, int)

    def nll(log_t: float) -> float:
        p = softmax(z, math.exp(log_t))[np.arange(len(y)), y]
        return float(-np.log(np.maximum(p, 1e-300)).mean())

    res = minimize_scalar(
        nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded", options={"xatol": 1e-6}
    )
    return math.exp(res.x)


def classwise_ece(y: np.ndarray, probs: np.ndarray, labels, bins: int = 10) -> dict[str, float]:
    """Per class c, the calibration error of P(c) against "is c" (equal-width bins over [0, 1]): a
    3-class model is calibrated only if every class's probability is."""
    y = np.asarray(y)
    edges = np.linspace(0, 1, bins + 1)
    out = {}
    for c, name in enumerate(labels):
        p, hit = probs[:, c], (y == c).astype(float)
        idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        out[name] = float(
            sum(
                (idx == b).mean() * abs(hit[idx == b].mean() - p[idx == b].mean())
                for b in range(bins)
                if (idx == b).any()
            )
        )
    return out


# offsets tried, smallest first (so a tie keeps the smaller offset)
BIAS_GRID = sorted(np.round(np.arange(-1.0, 1.0001, 0.05), 2).tolist(), key=abs)


def fit_class_offsets(log_probs: np.ndarray, y: np.ndarray) -> list[float]:
    """Offsets [b_neg, 0, b_pos] (neutral anchored) added to a 3-class model's log-probabilities that
    maximise macro recall on (log_probs, y): a grid of 0.05 over [-1, 1] each, ties to the smallest
    offsets. Why: macro recall weighs every class alike, the argmax of calibrated probabilities
    follows the training data's class shares (few negative tweets in the SemEval material)."""
    best, arg = -1.0, (0.0, 0.0)
    for a in BIAS_GRID:
        for c in BIAS_GRID:
            s = macro_recall(y, np.argmax(log_probs + np.array([a, 0.0, c]), axis=1))
            if s > best + 1e-12:
                best, arg = s, (float(a), float(c))
    return [arg[0], 0.0, arg[1]]


def crossfit_offsets_gain(log_probs: np.ndarray, y: np.ndarray, repeats: int = 5, seed: int = 0) -> float:
    """Mean macro-recall gain of :func:`fit_class_offsets` on held-out halves (seeded random 2-fold splits,
    ``repeats`` times): the honest estimate of what the offsets buy on unseen tweets."""
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(repeats):
        perm = rng.permutation(len(y))
        half = len(y) // 2
        for fit_on, test_on in ((perm[:half], perm[half:]), (perm[half:], perm[:half])):
            b = np.array(fit_class_offsets(log_probs[fit_on], y[fit_on]))
            lp, yy = log_probs[test_on], y[test_on]
            gains.append(macro_recall(yy, np.argmax(lp + b, 1)) - macro_recall(yy, np.argmax(lp, 1)))
    return float(np.mean(gains))


def calibrate_three_class(model_dir: Path, meta: ModelMeta, pred, class_offsets: bool = False) -> dict:
    """3-class models: the temperature is fitted on TweetEval's validation split (named in the model's
    config), and each class's calibration error is reported before and after. With ``class_offsets``,
    also the offsets of :func:`fit_class_offsets` for macro recall (TweetEval's metric), stored only when
    their cross-fitted gain on that split is positive; without it, offsets an earlier calibration
    stored are dropped (they were fitted at the old temperature), with a warning."""
    from tinysent.data.semeval import classes3, validation3_of

    if not meta.config.get("tweeteval_data"):
        raise InputError("the model's config names no TweetEval folder to calibrate on")
    val, on = validation3_of(meta.config)
    y = classes3(val.polarity)
    order = [meta.labels.index(n) for n in ("negative", "neutral", "positive")]
    ids, _ = pred.token_ids(val.texts)
    logits = pred.logits(ids, 256)[:, order]
    t = fit_temperature(logits, y)
    names = ("negative", "neutral", "positive")
    meta.temperature = t
    report = {
        "temperature": t,
        "on": on,
        "val_n": len(y),
        "classwise_ece_before": classwise_ece(y, softmax(logits, 1.0), names),
        "classwise_ece_after": classwise_ece(y, softmax(logits, t), names),
    }
    if class_offsets:
        lp = np.log(np.maximum(softmax(logits, t), 1e-300))
        bias, gain = fit_class_offsets(lp, y), crossfit_offsets_gain(lp, y)
        keep, fitted = gain > 0, dict(zip(names, bias))
        report["class_offsets"] = {
            "fitted": fitted,
            "crossfit_gain": gain,
            "kept": keep,
            "val_macro_recall_before": macro_recall(y, np.argmax(lp, 1)),
            "val_macro_recall_after": macro_recall(y, np.argmax(lp + np.array(bias), 1)),
        }
        meta.class_offsets = [fitted[n] for n in meta.labels] if keep else None
    elif meta.class_offsets is not None:
        # offsets from an earlier calibration were fitted at another temperature: without
        # --class-offsets the model decides by argmax again, and the report says what was dropped
        report["class_offsets"] = {"dropped": dict(zip(meta.labels, meta.class_offsets)), "kept": False}
        log.warning(
            "dropped the class offsets of an earlier calibration (%s): --class-offsets fits them again",
            ", ".join(f"{n} {b:+g}" for n, b in zip(meta.labels, meta.class_offsets)),
        )
        meta.class_offsets = None
    meta.metrics = {**meta.metrics, "calibration": report}
    meta.save(model_dir)
    return report


def calibrate_task(model_dir: Path, meta: ModelMeta, pred, cfg) -> dict:
    """A model of your own labelled task: the temperature fitted on its validation rows (rebuilt from
    its config: the same file, split and seed), each class's calibration error before and after."""
    from tinysent.core.normalize import Normalizer
    from tinysent.data.task import task_validation

    normalizer = Normalizer(meta.normalizer_config)
    prep = task_validation(cfg, load_tokenizer(model_dir), normalizer, meta.max_length)
    logits, y = pred.logits(prep.val_ids, 256), prep.val_labels
    t = fit_temperature(logits, y)
    th = meta.threshold
    if len(meta.labels) == 2 and th is not None and 0 < th < 1:
        # a two-label model's threshold is on P at its temperature: keep the bound on the logit
        # difference (temperature * logit(threshold)), so its answers do not change
        meta.threshold = 1 / (1 + math.exp(-meta.temperature * math.log(th / (1 - th)) / t))
    meta.temperature = t
    report = {
        "temperature": t,
        "on": f"validation rows of {cfg.train_data}",
        "val_n": len(y),
        "classwise_ece_before": classwise_ece(y, softmax(logits, 1.0), meta.labels),
        "classwise_ece_after": classwise_ece(y, softmax(logits, t), meta.labels),
        "threshold": meta.threshold,
    }
    meta.metrics = {**meta.metrics, "calibration": report}
    meta.save(model_dir)
    return report


def calibrate(model_dir: str | Path, data: str | None = None, class_offsets: bool = False) -> dict:
    """Fit the temperature on the model's validation split and store it (with ECE before/after);
    ``class_offsets``: 3-class models also get macro-recall offsets (:func:`calibrate_three_class`)."""
    from tinysent.runtime.predictor import load
    from tinysent.train.validation import run_config

    model_dir = Path(model_dir)
    meta = ModelMeta.load(model_dir)
    pred = load(model_dir)
    cfg = run_config(model_dir)  # the task the model was trained on, as its config records it
    if cfg.task_kind == "labelled":
        if class_offsets:
            raise InputError(
                "--class-offsets is for 3-class sentiment models (TweetEval validation picks it)"
            )
        return calibrate_task(model_dir, meta, pred, cfg)
    if cfg.task_kind == "sentiment-mix":
        return calibrate_three_class(model_dir, meta, pred, class_offsets)
    if class_offsets:
        raise InputError("--class-offsets is for 3-class sentiment models (TweetEval validation picks it)")
    prep = validation_split(model_dir, load_tokenizer(Path(model_dir)), data)
    logits = pred.logits(prep.val_ids, 256)
    y = prep.val_labels
    t = fit_temperature(logits, y)
    pos = meta.labels.index("positive")
    before, _ = expected_calibration_error(y, softmax(logits, meta.temperature)[:, pos])
    after, _ = expected_calibration_error(y, softmax(logits, t)[:, pos])
    meta.temperature = t
    meta.metrics = {
        **meta.metrics,
        "calibration": {
            "temperature": t,
            "val_n": len(y),
            "ece_before": before,
            "ece_after": after,
            "val_accuracy": binary_metrics(y, softmax(logits, t)[:, pos])["accuracy"],
        },
    }
    meta.save(model_dir)
    return meta.metrics["calibration"]
