"""Every distillation setting as a typed, validated, documented field.

The official TinyBERT code's per-task defaults were written to mistyped argument names and silently
never applied; here a misspelt setting is an error and every field is a ``tinysent distill`` option.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinysent.core.errors import InputError
from tinysent.data.config import DataConfig, LoopSettings, config_from_dict, option

STAGES = ("stage0", "stage1", "stage2")


MAX_AUGMENT = 100  # --augment: copies of each unlabelled tweet


@dataclass
class DistillConfig(LoopSettings, DataConfig):
    """Every ``tinysent distill`` option: the data and loop settings shared with training (their
    defaults for a student below), then distillation's own; defaults are the ones tests check."""

    out: str = option(
        "runs/student", "folder the student, its log and its checkpoint are written to", metavar="DIR"
    )
    num_labels: int = option(
        2,
        "3: a negative / neutral / positive student from mixed sources (prediction layer only; the teacher "
        "may use another tokenizer)",
        choices=(2, 3),
    )
    batch_size: int = option(64, "global training batch (shared out across processes)")
    eval_every: int = option(1000, "evaluate on the validation split every this many optimizer steps")

    teacher: str = option("", "fine-tuned teacher model folder (required)", metavar="DIR")
    student: str | dict | None = option(
        None,
        "tinybert-4l / tinybert-6l (random init), prune:SHAPE (the teacher pruned to that shape), "
        "layers:2,4,6 (a subset of the teacher's layers) or a checkpoint folder; labelled data: a model "
        "folder or preset whose encoder starts the student (prediction-layer distillation only, "
        "--stage2-epochs) (none: shipped for labelled data, else tinybert-4l)",
    )
    ensemble: list[str] = option(
        default_factory=list,
        help="another fine-tuned teacher with the same labels (repeatable): the teachers' probabilities "
        "are averaged, one ensemble teacher",
        cli="append",
        metavar="DIR",
    )
    binary_teacher: str | None = option(
        None,
        "3 labels: model whose P(pos) vs P(neg) teaches the Sentiment140 rows (default: --teacher)",
        metavar="DIR",
    )
    unlabelled: list[str] = option(
        default_factory=list,
        help="text file of extra tweets, one per line, labelled by the teacher (repeatable)",
        cli="append",
        metavar="FILE",
    )
    augment: int = option(
        0,
        "with --unlabelled: this many perturbed copies of each of those tweets (words dropped or swapped, "
        "spans kept) join them, labelled by the teacher (TinyBERT's augmented transfer set)",
        metavar="N",
    )
    emoticon_targets: str = option(
        "share",
        "3 labels: what the Sentiment140 rows learn from the teacher: share (its P(pos) vs P(neg), neutral "
        "left free) or teacher (its three probabilities: the rows become transfer tweets; with "
        "--hard-label-weight their emoticon label still teaches pos vs neg)",
        choices=("share", "teacher"),
    )
    teacher_cache: str | None = option(
        None,
        "folder for the teachers' cached outputs on the transfer set (none: --out); runs that share a "
        "teacher and transfer tweets can name one folder, and each teacher labels them once",
        metavar="DIR",
    )
    general_teacher: str | None = option(
        None, "pre-trained (not fine-tuned) model for stage 0, general distillation", metavar="MODEL"
    )
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
    distill_temperature: float = option(
        1.0,
        "softmax temperature of the stage-2 soft cross-entropy (not the calibration temperature)",
        aliases=("--temperature",),
    )
    hard_label_weight: float = option(
        0.0, "stage 2: weight of the true-label loss (0: teacher only, 1: labels only)"
    )
    attention_weight: float = option(1.0, "stages 0-1: weight of the attention-score loss")
    hidden_weight: float = option(1.0, "stages 0-1: weight of the hidden-state loss")
    embedding_weight: float = option(1.0, "stages 0-1: weight of the embedding loss")
    stage_budgets: list[float] | None = option(
        None, "seconds for stages 0,1,2, e.g. 60,300,120: each schedule shortens to fit (none: no limit)"
    )

    def __post_init__(self) -> None:
        if isinstance(self.unlabelled, str):  # a config saved when --unlabelled named one file
            self.unlabelled = [self.unlabelled]
        self.unlabelled = list(self.unlabelled or [])
        self.check_data()
        self.check_loop()
        for name in ("stage0_epochs", "stage1_epochs", "stage2_epochs", "augment"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0 (got {getattr(self, name)})")
        if self.augment > MAX_AUGMENT:
            raise InputError(
                f"--augment {self.augment}: at most {MAX_AUGMENT} copies of each tweet (TinyBERT used 20; "
                "more copies of the same tweets add little and cost a teacher pass each)"
            )
        if self.augment and not self.unlabelled:
            raise InputError("--augment N copies the --unlabelled tweets: pass --unlabelled FILE too")
        if self.stage1_epochs + self.stage2_epochs + self.stage0_epochs <= 0:
            raise InputError("nothing to do: all stage epochs are 0")
        if self.distill_temperature <= 0:
            raise InputError(f"--distill-temperature must be > 0 (got {self.distill_temperature})")
        if not 0 <= self.hard_label_weight <= 1:
            raise InputError(f"hard_label_weight must be in [0, 1] (got {self.hard_label_weight})")
        if self.stage_budgets is not None and (len(self.stage_budgets) != 3 or min(self.stage_budgets) <= 0):
            raise InputError("stage budgets: three positive numbers of seconds (stages 0, 1, 2)")
        if self.stage0_epochs > 0 and not self.general_teacher:
            raise InputError("stage 0 (general distillation) needs --general-teacher, a pre-trained model")
        if self.ensemble and self.num_labels != 3 and not self.labelled:
            raise InputError(
                "--ensemble teachers are for prediction-layer distillation (3 labels or your own data)"
            )
        if self.num_labels == 3 and (self.stage0_epochs or self.stage1_epochs):
            raise InputError(
                "3-class distillation is prediction-layer only: pass --stage0-epochs 0 --stage1-epochs 0"
            )

    def check_files(self) -> None:
        """The data files, then --unlabelled, before anything is loaded (a mistyped path is the error)."""
        from pathlib import Path

        from tinysent.core.errors import MissingFileError

        super().check_files()
        for f in self.unlabelled:
            if not Path(f).is_file():
                raise MissingFileError(f"--unlabelled {f}: no such file (one tweet per line)")
        cache = Path(self.teacher_cache or ".")
        if cache.exists() and not cache.is_dir():
            raise InputError(f"--teacher-cache {cache} is a file: name a folder (it is made if missing)")

    @property
    def teacher_cache_dir(self):
        """Where the teachers' outputs are cached: --teacher-cache, else the run's folder."""
        from pathlib import Path

        return Path(self.teacher_cache or self.out)

    @property
    def teachers(self) -> list[str]:
        """--teacher then every --ensemble teacher."""
        return [self.teacher, *self.ensemble]

    @property
    def student_model(self) -> str | dict:
        """The student asked for, else the default for the data: the shipped 4-layer model for a
        labelled task, TinyBERT 4L-312D (random init) for Sentiment140."""
        if self.student is not None:
            return self.student
        return "shipped" if self.labelled else "tinybert-4l"

    def stage_loop(self, stage: str):
        """The loop's settings for one stage (its epochs, learning rate, budget and batch-order seed)."""
        from tinysent.train.loop import LoopConfig

        k = STAGES.index(stage)
        budget = None if self.stage_budgets is None else self.stage_budgets[k]
        epochs, lr = getattr(self, f"{stage}_epochs"), getattr(self, f"{stage}_lr")
        return LoopConfig.take(self, epochs=epochs, lr=lr, time_budget=budget, seed=self.seed + k)

    @classmethod
    def from_dict(cls, d: dict) -> DistillConfig:
        """From a saved config; a misspelt setting is an error (older configs: ``data`` is the training
        data, ``temperature`` the distillation temperature; ``sizes`` was a result, now in the
        summary, and is dropped)."""
        return config_from_dict(
            cls,
            {k: v for k, v in d.items() if k != "sizes"},
            True,
        )
