"""TinyBERT task distillation (Jiao et al., 2020, arXiv 1909.10351): a small student learns from a
fine-tuned teacher layer by layer, then from its predictions.

In pipeline order: :mod:`.config` (every setting), :mod:`.students` (what the student starts as,
including the teacher pruned to a shape), :mod:`.losses` (the losses and the two objectives),
:mod:`.stages` (the run: stages 0, 1, 2 through the one training loop in :mod:`tinysent.train.loop`).
"""

from tinysent.train.distill.config import DistillConfig

# The rest needs torch (the train extra): imported on first use, so that the CLI can read
# DistillConfig's options without it.
_LAZY = {
    "Intermediate": "losses",
    "Prediction": "losses",
    "Projections": "losses",
    "attention_loss": "losses",
    "capture_scores": "losses",
    "hidden_loss": "losses",
    "soft_cross_entropy": "losses",
    "uniform_layer_map": "losses",
    "cached_teacher_logits": "stages",
    "distill": "stages",
    "make_student": "students",
    "prune_teacher": "students",
    "pruned_student": "students",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"tinysent.train.distill.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DistillConfig",
    "Intermediate",
    "Prediction",
    "Projections",
    "attention_loss",
    "cached_teacher_logits",
    "capture_scores",
    "distill",
    "hidden_loss",
    "make_student",
    "prune_teacher",
    "pruned_student",
    "soft_cross_entropy",
    "uniform_layer_map",
]
