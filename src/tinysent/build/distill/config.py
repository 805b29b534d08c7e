"""Every distillation setting as a typed, validated, documented field.

The official TinyBERT code's per-task defaults were written to mistyped argument names and silently
never applied; here a misspelt setting is an error and every field is a ``tinysent distill`` option.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinysent.build.config import (
    PRECISIONS,
    config_from_dict,
    handlabelled_data_option,
    option,
    train_data_option,
    tweeteval_data_option,
)
from tinysent.core.errors import InputError


@dataclass
class DistillConfig:
    """Every ``tinysent distill`` option; defaults are the ones tests check."""

    teacher: str = option("", "fine-tuned teacher model folder (required)", metavar="DIR")
    student: str | dict = option(
        "tinybert-4l",
        "tinybert-4l / tinybert-6l (random init), prune:SHAPE (the teacher pruned to that shape), "
        "layers:2,4,6 (a subset of the teacher's layers) or a checkpoint folder",
    )
    train_data: str | None = train_data_option()
    out: str = option(
        "runs/student", "folder the student, its log and its checkpoint are written to", metavar="DIR"
    )
    num_labels: int = option(
        2,
        "3: a negative / neutral / positive student from mixed sources (prediction layer only; the teacher "
        "may use another tokenizer)",
        choices=(2, 3),
    )
    handlabelled_data: str | None = handlabelled_data_option()
    tweeteval_data: str | None = tweeteval_data_option()
    binary_teacher: str | None = option(
        None,
        "3 labels: model whose P(pos) vs P(neg) teaches the Sentiment140 rows (default: --teacher)",
        metavar="DIR",
    )
    unlabelled: str | None = option(
        None, "text file of extra tweets, one per line, labelled by the teacher", metavar="FILE"
    )
    general_teacher: str | None = option(
        None, "pre-trained (not fine-tuned) model for stage 0, general distillation", metavar="MODEL"
    )
    max_train: int | None = option(None, "distil on a stratified sample of this many tweets (none: all)")
    val_fraction: float = option(0.01, "share of the training file held out for validation (stratified)")
    max_val: int | None = option(4000, "cap on validation tweets (none: the whole held-out share)")
    dedupe: bool = option(True, "drop duplicate tweets and tweets with conflicting labels before splitting")
    layer_map: list[int] | None = option(
        None, "teacher layer (1-based) per student layer, e.g. 2,3,5,6 (none: uniform, or the pruned layers)"
    )
    prune_calibration: int = option(2048, "training tweets whose activations decide what prune:SHAPE keeps")
    stage0_epochs: float = option(0.0, "general distillation epochs (needs --general-teacher)")
    stage1_epochs: float = option(
        1.0, "intermediate-layer distillation epochs (attention, hidden states, embeddings)"
    )
    stage2_epochs: float = option(1.0, "prediction-layer distillation epochs (soft cross-entropy)")
    stage0_lr: float = option(3e-4, "peak learning rate of stage 0")
    stage1_lr: float = option(3e-4, "peak learning rate of stage 1")
    stage2_lr: float = option(1e-4, "peak learning rate of stage 2")
    temperature: float = option(1.0, "softmax temperature of the stage-2 soft cross-entropy")
    hard_label_weight: float = option(
        0.0, "stage 2: weight of the true-label loss (0: teacher only, 1: labels only)"
    )
    attention_weight: float = option(1.0, "stages 0-1: weight of the attention-score loss")
    hidden_weight: float = option(1.0, "stages 0-1: weight of the hidden-state loss")
    embedding_weight: float = option(1.0, "stages 0-1: weight of the embedding loss")
    batch_size: int = option(64, "global training batch (shared out across processes)")
    grad_accum: int = option(1, "batches whose gradients are summed before each optimizer step")
    weight_decay: float = option(0.01, "AdamW weight decay (not applied to biases and LayerNorm)")
    warmup_ratio: float = option(0.06, "share of each stage's optimizer steps with a linear warmup")
    max_grad_norm: float = option(1.0, "gradient clipping norm")
    eval_every: int = option(1000, "evaluate on the validation split every this many optimizer steps")
    seed: int = option(0, "seed for the split, the sample, the batch order and initialisation")
    mixed_precision: str = option(
        "auto", "autocast dtype (auto: bf16 on a GPU that has it)", choices=PRECISIONS
    )
    log_every: int = option(50, "write the mean training loss to train_log.jsonl every this many steps")
    stage_budgets: list[float] | None = option(
        None, "seconds for stages 0,1,2, e.g. 60,300,120: each schedule shortens to fit (none: no limit)"
    )
    resume: bool = option(
        False, "continue from OUT/checkpoint (written at every evaluation) after an interruption"
    )
    overwrite: bool = option(
        False, "replace a non-empty --out folder (the old one is put back if the run fails)"
    )

    def __post_init__(self) -> None:
        for name in ("stage0_epochs", "stage1_epochs", "stage2_epochs"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0 (got {getattr(self, name)})")
        if self.stage1_epochs + self.stage2_epochs + self.stage0_epochs <= 0:
            raise InputError("nothing to do: all stage epochs are 0")
        if self.temperature <= 0:
            raise InputError(f"temperature must be > 0 (got {self.temperature})")
        if not 0 <= self.hard_label_weight <= 1:
            raise InputError(f"hard_label_weight must be in [0, 1] (got {self.hard_label_weight})")
        if self.stage_budgets is not None and (len(self.stage_budgets) != 3 or min(self.stage_budgets) <= 0):
            raise InputError("stage budgets: three positive numbers of seconds (stages 0, 1, 2)")
        if self.stage0_epochs > 0 and not self.general_teacher:
            raise InputError("stage 0 (general distillation) needs --general-teacher, a pre-trained model")
        if self.grad_accum < 1:
            raise InputError(f"grad accumulation must be >= 1 (got {self.grad_accum})")
        if self.num_labels == 3 and not (self.handlabelled_data and self.tweeteval_data):
            raise InputError(
                "a 3-class student needs --handlabelled-data (the SemEval folder) and --tweeteval-data "
                "(the TweetEval folder, whose validation split selects)"
            )
        if self.num_labels == 3 and (self.stage0_epochs or self.stage1_epochs):
            raise InputError(
                "3-class distillation is prediction-layer only: pass --stage0-epochs 0 --stage1-epochs 0"
            )
        if self.mixed_precision not in PRECISIONS:
            raise InputError("mixed precision: " + ", ".join(PRECISIONS))

    @classmethod
    def from_dict(cls, d: dict) -> DistillConfig:
        """From a saved config; a misspelt setting is an error (older configs: ``data`` is the training
        data; ``sizes`` was a result, now in the summary, and is dropped)."""
        return config_from_dict(
            cls, {k: v for k, v in d.items() if k != "sizes"}, {"data": "train_data"}, True
        )
