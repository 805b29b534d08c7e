"""Typed configs and the metadata file (``tinysent.json``) saved beside every model.

Every config field is declared with :func:`option`: its help text (and choices) live beside its type
and default, and ``cli.add_config_args`` turns the dataclass into command-line options, so the CLI,
the Python API and the config saved with a model never disagree.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from . import __version__
from .normalize import NormalizerConfig

META_FILE = "tinysent.json"
PRECISIONS = ("auto", "no", "bf16", "fp16")


def option(
    default=MISSING,
    help: str = "",
    *,
    choices=None,
    metavar=None,
    nargs=None,
    default_factory=MISSING,
    cli=True,
):
    """A dataclass field that is also a documented command-line option. ``cli``: True (an option),
    False (not on the command line), "required", "positional" or "append" (repeatable)."""
    meta = {"help": help, "choices": choices, "metavar": metavar, "nargs": nargs, "cli": cli}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def config_from_dict(cls, d: dict, renamed: dict[str, str], strict: bool):
    """Build ``cls`` from a dict, mapping older key names; unknown keys are an error when ``strict``."""
    d = {renamed.get(k, k): v for k, v in d.items()}
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown and strict:
        raise ValueError(f"unknown {cls.__name__} settings: {sorted(unknown)}")
    return cls(**{k: v for k, v in d.items() if k in known})


# Options that training and distillation share: one definition each.


def train_data_option():
    return option(
        None, "Sentiment140 training file or folder (default: the cached official download)", metavar="PATH"
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
class TrainConfig:
    """Fine-tuning settings; every field is a ``tinysent train`` option of the same name."""

    base: str = option(
        "tinybert-4l", "model to fine-tune: a preset (tinybert-4l, minilm-l6, ...), a folder or a hub id"
    )
    train_data: str | None = train_data_option()
    out: str = option(
        "runs/model", "folder the model, its log and its checkpoint are written to", metavar="DIR"
    )
    num_labels: int = option(
        2,
        "2: negative / positive (Sentiment140); 3: negative / neutral / positive from mixed sources",
        choices=(2, 3),
    )
    handlabelled_data: str | None = handlabelled_data_option()
    tweeteval_data: str | None = tweeteval_data_option()
    binary_loss: str = option(
        "full",
        "3 labels: how a Sentiment140 (binary) row supervises the head: full (as a 3-class label; chosen "
        "on validation) or share (only P(pos) vs P(neg))",
        choices=("share", "full"),
    )
    max_train: int | None = option(
        None,
        "train on a stratified sample of this many Sentiment140 tweets (none: all; 0 with 3 labels: none)",
    )
    val_fraction: float = option(0.01, "share of the training file held out for validation (stratified)")
    max_val: int | None = option(4000, "cap on validation tweets (none: the whole held-out share)")
    dedupe: bool = option(True, "drop duplicate tweets and tweets with conflicting labels before splitting")
    token_cache: bool = option(
        True,
        "tokenise the whole file once into a memory-mapped store in the user cache, reused by later runs",
    )
    epochs: float = option(1.0, "passes over the training tweets (fractions allowed)")
    batch_size: int = option(32, "global training batch (shared out across processes)")
    grad_accum: int = option(1, "batches whose gradients are summed before each optimizer step")
    lr: float = option(5e-5, "peak learning rate of AdamW")
    weight_decay: float = option(0.01, "AdamW weight decay (not applied to biases and LayerNorm)")
    warmup_ratio: float = option(0.06, "share of optimizer steps with a linear warmup")
    max_grad_norm: float = option(1.0, "gradient clipping norm")
    max_length: int | None = option(
        None, "token cap per tweet (none: the 99.5th percentile of training lengths, at most 128)"
    )
    eval_every: int = option(500, "evaluate on the validation split every this many optimizer steps")
    patience: int | None = option(4, "stop after this many evaluations without improvement (none: never)")
    resume: bool = option(
        False, "continue from OUT/checkpoint (written at every evaluation) after an interruption"
    )
    time_budget: float | None = option(
        None, "seconds of training; the LR schedule shortens to end within them (none: no limit)"
    )
    seed: int = option(0, "seed for the split, the sample, the batch order and initialisation")
    mixed_precision: str = option(
        "auto", "autocast dtype (auto: bf16 on a GPU that has it)", choices=PRECISIONS
    )
    log_every: int = option(50, "write the mean training loss to train_log.jsonl every this many steps")
    num_workers: int = option(0, "DataLoader worker processes")

    def __post_init__(self) -> None:
        checks = [
            (self.epochs > 0, f"epochs must be > 0 (got {self.epochs})"),
            (self.batch_size > 0, f"batch size must be > 0 (got {self.batch_size})"),
            (self.grad_accum > 0, f"grad accumulation must be > 0 (got {self.grad_accum})"),
            (self.lr > 0, f"learning rate must be > 0 (got {self.lr})"),
            (0 <= self.warmup_ratio < 1, f"warmup ratio must be in [0, 1) (got {self.warmup_ratio})"),
            (self.time_budget is None or self.time_budget > 0, "--time-budget must be > 0 seconds"),
            (
                self.max_train is None
                or self.max_train > 1
                or (self.max_train == 0 and self.num_labels == 3),
                f"--max-train must be > 1 (got {self.max_train})",
            ),
            (self.num_labels in (2, 3), f"--num-labels must be 2 or 3 (got {self.num_labels})"),
            (
                self.num_labels == 2 or (self.handlabelled_data and self.tweeteval_data),
                "a 3-class model needs --handlabelled-data (the SemEval folder) and --tweeteval-data "
                "(the TweetEval folder, whose validation split selects)",
            ),
            (self.binary_loss in ("share", "full"), "--binary-loss: share or full"),
            (self.eval_every > 0, f"--eval-every must be > 0 (got {self.eval_every})"),
            (self.mixed_precision in PRECISIONS, "mixed precision: " + ", ".join(PRECISIONS)),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """From a saved config (older ones call the training data ``data``); other keys are ignored."""
        return config_from_dict(cls, d, {"data": "train_data"}, strict=False)


@dataclass
class ModelMeta:
    """What a model needs at prediction time besides its weights, and where it came from."""

    labels: list[str] = field(
        default_factory=lambda: ["negative", "positive"]
    )  # or negative, neutral, positive
    normalizer: dict = field(default_factory=lambda: NormalizerConfig().to_dict())
    max_length: int = 64
    threshold: float = 0.5  # positive when P(positive) >= threshold
    temperature: float = 1.0  # logits are divided by it (calibration)
    neutral_band: list[float] | None = None  # default (lo, hi) for 3-way output, if any
    base_model: str | None = None
    method: str = "fine-tune"  # or "distill"
    data_sha256: str | None = None
    train_rows: int | None = None
    git_commit: str | None = None
    tinysent_version: str = __version__
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    def save(self, model_dir: str | Path) -> None:
        path = Path(model_dir) / META_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelMeta:
        path = Path(model_dir) / META_FILE
        if not path.exists():
            return cls()  # a plain transformers classifier: defaults (max length 64, no normaliser change)
        d = json.loads(path.read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def normalizer_config(self) -> NormalizerConfig:
        return NormalizerConfig.from_dict(self.normalizer)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
