"""Typed configs and the metadata file (``tinysent.json``) saved beside every model.

Every config field is declared with :func:`option`: its help text (and choices) live beside its type
and default, and ``cli.add_config_args`` turns the dataclass into command-line options, so the CLI,
the Python API and the config saved with a model never disagree.
"""

from __future__ import annotations

import json
import subprocess
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from . import __version__
from .normalize import NormalizerConfig

META_FILE = "tinysent.json"


class MetaError(ValueError):
    """A model's tinysent.json is missing, unreadable or holds values that would give wrong answers."""


PRECISIONS = ("auto", "no", "bf16", "fp16")


# int8's fp32 recheck (predict.recheck_files): texts whose int8 logits lie within this many logits
# of another label are scored again in fp32. Chosen on 20,000 unlabelled Sentiment140 training
# tweets (not a validation or test set) as the smallest margin giving >= 99.7 % label agreement for
# the shipped model: it rechecks ~3 % of tweets (scripts/int8_recheck.py).
RECHECK_MARGIN = 0.06


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
    overwrite: bool = option(
        False, "replace a non-empty --out folder (the old one is put back if the run fails)"
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
    # The weight files that belong to this model, with their sha256: load() uses only these and
    # refuses one that does not match (a stale export or a damaged copy is never run silently).
    files: dict[str, str] | None = None

    def pin(self, model_dir: str | Path, names: list[str]) -> None:
        """Record ``names`` (weight files in ``model_dir``) as this model's, with their sha256."""
        from .data import file_sha256

        self.files = {n: file_sha256(Path(model_dir) / n) for n in names}

    def save(self, model_dir: str | Path) -> None:
        path = Path(model_dir) / META_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, model_dir: str | Path, required: bool = False) -> ModelMeta:
        """The folder's tinysent.json, checked (:meth:`validate`). Without one: defaults for a plain
        transformers classifier, or, with ``required`` (prediction), a refusal: the defaults would
        silently change its threshold, temperature and normalisation."""
        path = Path(model_dir) / META_FILE
        if not path.exists():
            if required:
                raise MetaError(
                    f"{model_dir} has no {META_FILE}: it is not a tinysent model folder (or the file was "
                    "deleted); load the folder tinysent train / distill / export wrote"
                )
            return cls()  # a plain transformers classifier: defaults (max length 64, no normaliser change)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise MetaError(f"{path} is not valid JSON ({e}); restore it from the model's source") from None
        if not isinstance(d, dict):
            raise MetaError(f"{path} holds a JSON {type(d).__name__}, not an object; restore it")
        known = {f.name for f in fields(cls)}
        try:
            meta = cls(**{k: v for k, v in d.items() if k in known})
        except TypeError as e:
            raise MetaError(f"{path}: {e}") from None
        meta.validate(path)
        return meta

    def validate(self, where: str | Path = META_FILE) -> None:
        """Refuse values that would give wrong answers quietly: a temperature of 0 (NaN), a negative one
        (labels inverted), a threshold outside (0, 1), unknown labels, a band outside [0, 1]."""
        import math

        def bad(msg):
            raise MetaError(f"{where}: {msg}; fix the file or restore it from the model's source")

        def number(x):
            return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

        if self.labels not in (["negative", "positive"], ["negative", "neutral", "positive"]):
            bad(f"labels must be [negative, positive] or [negative, neutral, positive], not {self.labels!r}")
        if not number(self.temperature) or self.temperature <= 0:
            bad(f"temperature must be a positive number, not {self.temperature!r}")
        if not number(self.threshold) or not 0 < self.threshold < 1:
            bad(f"threshold must be between 0 and 1, not {self.threshold!r}")
        if not isinstance(self.max_length, int) or isinstance(self.max_length, bool) or self.max_length < 3:
            bad(f"max_length must be an integer >= 3, not {self.max_length!r}")
        band = self.neutral_band
        if band is not None and not (
            isinstance(band, list)
            and len(band) == 2
            and all(number(x) for x in band)
            and 0 <= band[0] <= band[1] <= 1
        ):
            bad(f"neutral_band must be null or [lo, hi] with 0 <= lo <= hi <= 1, not {band!r}")
        if not isinstance(self.normalizer, dict):
            bad("normalizer must be an object")
        if self.files is not None and not (
            isinstance(self.files, dict)
            and all(isinstance(v, str) and len(v) == 64 for v in self.files.values())
        ):
            bad("files must map file names to sha256 hex digests")

    @property
    def normalizer_config(self) -> NormalizerConfig:
        return NormalizerConfig.from_dict(self.normalizer)


@contextmanager
def output_folder(out: str | Path, overwrite: bool = False, resume: bool = False):
    """Guard a run that writes a model folder: a non-empty ``out`` is refused unless ``overwrite``;
    then the old folder is moved aside, the run writes a fresh one (nothing of the old model stays in
    it), and the old one is deleted when the run succeeds or put back when it fails. ``resume``
    continues in ``out`` as it is. In a multi-process run only the main process moves folders."""
    import os
    import shutil

    out = Path(out)
    if resume:
        yield
        return
    if out.exists() and not out.is_dir():
        raise MetaError(f"--out {out} is a file; name a folder")
    if not (out.exists() and any(out.iterdir())):
        yield
        return
    if not overwrite:
        n = sum(1 for _ in out.iterdir())
        raise MetaError(
            f"--out {out} is not empty ({n} entries): pass --overwrite to replace it (the old one is kept "
            "until the new run succeeds), or name another folder"
        )
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    old = out.with_name(f".{out.name}.replaced-{os.getpid()}")
    out.rename(old)
    try:
        yield
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
