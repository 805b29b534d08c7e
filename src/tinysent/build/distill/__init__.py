"""TinyBERT task distillation (Jiao et al., 2020, arXiv 1909.10351): a small student learns from a
fine-tuned teacher layer by layer, then from its predictions.

In pipeline order: :mod:`.config` (every setting), :mod:`.students` (what the student starts as,
including the teacher pruned to a shape), :mod:`.losses` (the losses and the two objectives),
:mod:`.stages` (the run: stages 0, 1, 2 through the one training loop in :mod:`tinysent.build.loop`).
"""

from tinysent.build.distill.config import DistillConfig
from tinysent.build.distill.losses import (
    Intermediate,
    Prediction,
    Projections,
    attention_loss,
    capture_scores,
    hidden_loss,
    soft_cross_entropy,
    uniform_layer_map,
)
from tinysent.build.distill.stages import cached_teacher_logits, distill
from tinysent.build.distill.students import make_student, prune_teacher, pruned_student

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
