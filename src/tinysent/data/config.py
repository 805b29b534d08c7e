"""Typed configs of training runs (the model metadata, ``tinysent.json``, is :mod:`tinysent.core.meta`).

Every config field is declared with :func:`option`: its help text (and choices) live beside its type
and default, and ``cli.add_config_args`` turns the dataclass into command-line options, so the CLI,
the Python API and the config saved with a model never disagree.
"""

from __future__ import annotations

import subprocess
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property
from pathlib import Path

from tinysent.core.errors import InputError

AUTOCAST_DTYPES = ("auto", "no", "bf16", "fp16")
TASKS = ("auto", "labelled", "sentiment-mix", "sentiment140")  # the task kinds (tinysent.data.task)


def option(
    default=MISSING,
    help: str = "",
    *,
    choices=None,
    metavar=None,
    nargs=None,
    default_factory=MISSING,
    cli=True,
    aliases=(),
):
    """A dataclass field that is also a documented command-line option. ``cli``: True (an option),
    False (not on the command line), "required", "positional" or "append" (repeatable).
    ``aliases``: older spellings of the flag that still work (``--class-bias``)."""
    meta = {
        "help": help,
        "choices": choices,
        "metavar": metavar,
        "nargs": nargs,
        "cli": cli,
        "aliases": aliases,
    }
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


# Options renamed since runs and models were saved with them: a saved config is read with the new names
# (and a resume compares it so). ``data``: the training data; ``temperature``: distillation's.
RENAMED_OPTIONS = {"data": "train_data", "temperature": "distill_temperature"}
# options added since runs began: a run begun before one existed ran as its value here
ADDED_OPTIONS = {"freeze_embeddings": False}


def config_from_dict(cls, d: dict, strict: bool):
    """Build ``cls`` from a dict, mapping older key names (:data:`RENAMED_OPTIONS`); unknown keys are
    an error when ``strict``."""
    d = {RENAMED_OPTIONS.get(k, k): v for k, v in d.items()}
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown and strict:
        raise InputError(f"unknown {cls.__name__} settings: {sorted(unknown)}")
    return cls(**{k: v for k, v in d.items() if k in known})


# Options that training and distillation share: one definition each.


def train_data_option():
    return option(
        None,
        "training data: Sentiment140 (its file or folder; default: the cached official download), or "
        "your own labelled tweets, any label set (CSV/TSV with a header, JSONL, Parquet, a TweetEval "
        "task folder)",
        metavar="PATH",
    )


def handlabelled_data_option():
    return option(
        None,
        "3 labels: hand-labelled 3-class tweets (the SemEval Task 4A folder or a .tsv file)",
        metavar="PATH",
    )


def tweeteval_data_option():
    return option(
        None,
        "3 labels: the TweetEval sentiment folder; its validation split selects the model",
        metavar="DIR",
    )


@dataclass
class ColumnsConfig:
    """How a labelled file's texts and labels are found (:mod:`tinysent.data.labelled`): declared once
    for every command that reads one (train, distill, curve, evaluate, report, data check)."""

    text_column: str | None = option(None, "labelled data: the text column (default: text, tweet, ...)")
    label_column: str | None = option(None, "labelled data: the label column (default: label, class, ...)")
    label_mapping: str | None = option(
        None,
        "labelled data: file mapping label ids to names ('id<TAB>name' lines or a JSON object)",
        metavar="FILE",
    )

    @property
    def read_options(self) -> dict:
        """``read_labelled``'s keyword arguments."""
        return dict(text_column=self.text_column, label_column=self.label_column, mapping=self.label_mapping)


@dataclass
class DataConfig(ColumnsConfig):
    """What a run learns from, and how it is split: declared once for training and distillation."""

    train_data: str | None = train_data_option()
    num_labels: int = option(
        2,
        "2: negative / positive (Sentiment140); 3: negative / neutral / positive from mixed sources",
        choices=(2, 3),
    )
    handlabelled_data: str | None = handlabelled_data_option()
    tweeteval_data: str | None = tweeteval_data_option()
    handlabelled_holdout: list[str] = option(
        default_factory=list,
        help="3 labels: a file of --handlabelled-data (its name; repeatable) held out of training to be "
        "the validation split that selects, instead of TweetEval's (one drawn like a later test set, "
        "e.g. twitter-2016test-A.tsv); calibrate and export's agreement check use it too",
        cli="append",
        metavar="FILE",
    )
    max_train: int | None = option(
        None,
        "learn from a stratified sample of this many Sentiment140 tweets (none: all; 0 with 3 labels: none)",
    )
    val_fraction: float | None = option(
        None,
        "share of the training file held out for validation, stratified (none: 0.01 of Sentiment140, "
        "0.1 of a labelled file without --val-data)",
    )
    max_val: int | None = option(4000, "cap on validation tweets (none: the whole held-out share)")
    dedupe: bool = option(True, "drop duplicate tweets and tweets with conflicting labels before splitting")
    val_data: str | None = option(
        None,
        "labelled data: validation file (default: a TweetEval folder's val split, else --val-fraction of "
        "the training file)",
        metavar="PATH",
    )
    metric: str = option(
        "macro_f1",
        "labelled data: the validation metric that selects the checkpoint (and a two-label task's "
        "threshold): macro_f1, macro_recall, accuracy or f1:CLASS (F1 of one class)",
    )
    class_weights: bool = option(False, "labelled data: weight the loss by inverse class frequency")
    task: str = option(
        "auto",
        "what the data is read as: labelled (your own labelled tweets, any label set), sentiment-mix "
        "(3 classes: hand-labelled tweets beside Sentiment140's, TweetEval validation), sentiment140 "
        "(binary); auto: decided once from the data options, printed, and stored with the model",
        choices=TASKS,
    )

    @cached_property  # it reads the data file's first line: once per config
    def task_kind(self) -> str:
        """The task this run learns (:func:`tinysent.data.task_kind.resolve_task`, the one resolver)."""
        from tinysent.data.task_kind import resolve_task

        return resolve_task(self)

    @property
    def labelled(self) -> bool:
        """Training on a labelled file (any label set), not Sentiment140 / the sentiment mix."""
        return self.task_kind == "labelled"

    @property
    def validation_fraction(self) -> float:
        return self.val_fraction if self.val_fraction is not None else (0.1 if self.labelled else 0.01)

    @property
    def selection_metric(self) -> str:
        """The validation metric that picks the best checkpoint: a 3-class run's evaluator reports
        ``val_score`` (train/three_class.py), a 2-class run's loop ``val_accuracy``."""
        return "val_accuracy" if self.task_kind == "sentiment140" else "val_score"

    def check_files(self) -> None:
        """The data files named exist: a run checks this before it loads (or downloads) a model, so
        a mistyped path is the error, not whatever the base model's loading says; each is then made
        absolute, so the model's config names its data wherever it is read (``select`` compared a
        relative path with an absolute one as other data). Not in ``__post_init__``: a saved config
        read back elsewhere names files of the machine it ran on."""
        from tinysent.core.errors import MissingFileError

        for name in ("train_data", "val_data", "handlabelled_data", "tweeteval_data", "label_mapping"):
            value = getattr(self, name)
            if value is not None and not Path(value).exists():
                raise MissingFileError(f"--{name.replace('_', '-')} {value}: no such file or folder")
            if value is not None:  # recorded whole: a model compared or read from another folder finds it
                setattr(self, name, str(Path(value).resolve()))
        for name in self.handlabelled_holdout:
            if not (self.handlabelled_data and (Path(self.handlabelled_data) / name).is_file()):
                raise MissingFileError(
                    f"--handlabelled-holdout {name}: not a file in --handlabelled-data "
                    f"{self.handlabelled_data} (name one of its .tsv files)"
                )
        if self.handlabelled_holdout:
            from tinysent.data.semeval import semeval_files

            names = {f.name for f in semeval_files(Path(self.handlabelled_data))}
            if names <= set(self.handlabelled_holdout):
                raise InputError(
                    f"--handlabelled-holdout names every SemEval file in {self.handlabelled_data}: "
                    "leave at least one for training"
                )

    def check_data(self) -> None:
        if self.num_labels not in (2, 3):
            raise InputError(f"--num-labels must be 2 or 3 (got {self.num_labels})")
        if self.num_labels == 3 and not (self.handlabelled_data and self.tweeteval_data):
            raise InputError(
                "a 3-class model needs --handlabelled-data (the SemEval folder) and --tweeteval-data "
                "(the TweetEval folder, whose validation split selects)"
            )
        if self.handlabelled_holdout and self.num_labels != 3:
            raise InputError("--handlabelled-holdout is for 3-class runs (--num-labels 3)")
        if not (
            self.metric in ("macro_f1", "macro_recall", "accuracy")
            or (self.metric.startswith("f1:") and len(self.metric) > 3)
        ):
            raise InputError(
                f"--metric must be macro_f1, macro_recall, accuracy or f1:CLASS (got {self.metric!r})"
            )
        if self.val_fraction is not None and not 0 < self.val_fraction < 1:
            raise InputError(f"--val-fraction must be in (0, 1) (got {self.val_fraction})")
        if not (
            self.max_train is None or self.max_train > 1 or (self.max_train == 0 and self.num_labels == 3)
        ):
            raise InputError(f"--max-train must be > 1 (got {self.max_train})")


@dataclass
class LoopSettings:
    """How the one training loop runs (``loop.fit``), declared once for training and distillation;
    ``loop.LoopConfig.take`` reads these fields (and a stage's epochs and learning rate)."""

    out: str = option(
        "runs/model", "folder the model, its log and its checkpoint are written to", metavar="DIR"
    )
    batch_size: int = option(32, "global training batch (shared out across processes)")
    grad_accum: int = option(1, "batches whose gradients are summed before each optimizer step")
    weight_decay: float = option(0.01, "AdamW weight decay (not applied to biases and LayerNorm)")
    warmup_ratio: float = option(0.06, "share of optimizer steps with a linear warmup")
    max_grad_norm: float = option(1.0, "gradient clipping norm")
    eval_every: int = option(500, "evaluate on the validation split every this many optimizer steps")
    log_every: int = option(50, "write the mean training loss to train_log.jsonl every this many steps")
    seed: int = option(0, "seed for the split, the sample, the batch order and initialisation")
    mixed_precision: str = option(
        "auto",
        "autocast dtype (auto: bf16 on a GPU or a CPU that has it: AMX or AVX-512 BF16)",
        choices=AUTOCAST_DTYPES,
    )
    resume: bool = option(
        False, "continue from OUT/checkpoint (written at every evaluation) after an interruption"
    )
    overwrite: bool = option(
        False, "replace a non-empty --out folder (the old one is put back if the run fails)"
    )

    min_steps: int | None = option(
        None,
        "train at least this many optimizer steps, repeating a small training set over more epochs "
        "(none: 600 for your own labelled data, chosen on TweetEval emotion's validation split; 0 for "
        "Sentiment140)",
    )

    @property
    def steps_floor(self) -> int:
        """--min-steps, else its default for the data (the loop reads this)."""
        if self.min_steps is not None:
            return self.min_steps
        return 600 if getattr(self, "labelled", False) else 0

    def check_loop(self) -> None:
        checks = [
            (self.batch_size > 0, f"batch size must be > 0 (got {self.batch_size})"),
            (self.grad_accum > 0, f"grad accumulation must be >= 1 (got {self.grad_accum})"),
            (0 <= self.warmup_ratio < 1, f"warmup ratio must be in [0, 1) (got {self.warmup_ratio})"),
            (self.eval_every > 0, f"--eval-every must be > 0 (got {self.eval_every})"),
            (self.min_steps is None or self.min_steps >= 0, f"--min-steps must be >= 0 ({self.min_steps})"),
            (self.mixed_precision in AUTOCAST_DTYPES, "mixed precision: " + ", ".join(AUTOCAST_DTYPES)),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(msg)


@dataclass
class TrainConfig(LoopSettings, DataConfig):
    """Fine-tuning settings (the shared data and loop settings, then fine-tuning's own); every field is
    a ``tinysent train`` option of the same name."""

    base: str | None = option(
        None,
        "model to fine-tune: a preset (tinybert-4l, minilm-l6, shipped, ...), a folder or a hub id (none: "
        "the shipped model for labelled data, whose head is kept for negative/neutral/positive; "
        "tinybert-4l for Sentiment140)",
    )
    binary_loss: str = option(
        "full",
        "3 labels: how a Sentiment140 (binary) row supervises the head: full (as a 3-class label; chosen "
        "on validation) or share (only P(pos) vs P(neg))",
        choices=("share", "full"),
    )
    token_cache: bool = option(
        True,
        "tokenise the whole file once into a memory-mapped store in the user cache, reused by later runs",
    )
    epochs: float = option(1.0, "passes over the training tweets (fractions allowed)")
    freeze_embeddings: bool = option(
        False,
        "keep the word-embedding matrix as the base has it: a step skips its gradient and AdamW update "
        "(MiniLM-L6: 11.7M of 22.7M parameters; the main job read a third more tweets in 9 minutes)",
    )
    lr: float = option(5e-5, "peak learning rate of AdamW")
    max_length: int | None = option(
        None, "token cap per tweet (none: the 99.5th percentile of training lengths, at most 128)"
    )
    patience: int | None = option(4, "stop after this many evaluations without improvement (none: never)")
    time_budget: float | None = option(
        None, "seconds of training; the LR schedule shortens to end within them (none: no limit)"
    )
    num_workers: int = option(0, "DataLoader worker processes")

    def __post_init__(self) -> None:
        self.check_data()
        self.check_loop()
        checks = [
            (self.epochs > 0, f"epochs must be > 0 (got {self.epochs})"),
            (self.lr > 0, f"learning rate must be > 0 (got {self.lr})"),
            (self.time_budget is None or self.time_budget > 0, "--time-budget must be > 0 seconds"),
            (self.binary_loss in ("share", "full"), "--binary-loss: share or full"),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(msg)

    @property
    def base_model(self) -> str:
        return self.base or ("shipped" if self.labelled else "tinybert-4l")

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """From a saved config (older ones call the training data ``data``); other keys are ignored."""
        return config_from_dict(cls, d, strict=False)


from tinysent.data.outputs import folder_lock, output_folder  # noqa: E402,F401 (re-exported)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
