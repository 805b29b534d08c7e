"""Typed configs and the metadata file (``tinysent.json``) saved beside every model."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import __version__
from .normalize import NormalizerConfig

META_FILE = "tinysent.json"


@dataclass
class TrainConfig:
    """Fine-tuning settings; every field is a ``tinysent train`` option of the same name."""

    base: str = "tinybert-4l"
    data: str | None = None
    out: str = "runs/model"
    max_train: int | None = None
    val_fraction: float = 0.01
    max_val: int | None = 4000
    dedupe: bool = True
    token_cache: bool = True  # tokenise the whole file once into a memory-mapped store, reused later
    epochs: float = 1.0
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    max_length: int | None = None  # None: the 99.5th percentile of token lengths, capped at 128
    eval_every: int = 500
    patience: int | None = 4  # evaluations without improvement before stopping; None: never
    resume: bool = False  # continue from out/checkpoint when there is one
    time_budget: float | None = None  # seconds of training; the LR schedule is shortened to end in it
    seed: int = 0
    mixed_precision: str = "auto"  # auto | no | bf16 | fp16
    log_every: int = 50
    num_workers: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.epochs > 0, f"epochs must be > 0 (got {self.epochs})"),
            (self.batch_size > 0, f"batch size must be > 0 (got {self.batch_size})"),
            (self.grad_accum > 0, f"grad accumulation must be > 0 (got {self.grad_accum})"),
            (self.lr > 0, f"learning rate must be > 0 (got {self.lr})"),
            (0 <= self.warmup_ratio < 1, f"warmup ratio must be in [0, 1) (got {self.warmup_ratio})"),
            (self.time_budget is None or self.time_budget > 0, "--time-budget must be > 0 seconds"),
            (self.max_train is None or self.max_train > 1, f"--max-train must be > 1 (got {self.max_train})"),
            (self.eval_every > 0, f"--eval-every must be > 0 (got {self.eval_every})"),
            (
                self.mixed_precision in ("auto", "no", "bf16", "fp16"),
                "mixed precision: auto, no, bf16 or fp16",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class ModelMeta:
    """What a model needs at prediction time besides its weights, and where it came from."""

    labels: list[str] = field(default_factory=lambda: ["negative", "positive"])
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
