"""A model's metadata, ``tinysent.json``: what it needs at prediction time besides its weights
(labels, normaliser, max length, threshold, temperature), where it came from, and the sha256 of every
weight file that belongs to it. Validated on load: a value that would give wrong answers quietly is
refused with the fix.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tinysent.core.errors import InputError, MetaError
from tinysent.core.files import read_metadata
from tinysent.core.labels import RESERVED
from tinysent.core.normalize import NormalizerConfig
from tinysent.core.version import __version__

META_FILE = "tinysent.json"
MAX_LABELS = 1000  # a label list longer than this is a damaged file, not a task

# int8's fp32 recheck (runtime.predictor.recheck_files): texts whose int8 logits lie within this many logits
# of another label are scored again in fp32. Chosen on 20,000 unlabelled Sentiment140 training
# tweets (not a validation or test set) as the smallest margin giving >= 99.7 % label agreement for
# the shipped model: it rechecks ~3 % of tweets (scripts/research/int8_recheck.py).
RECHECK_MARGIN = 0.06


def check_recheck_margin(margin: float) -> float:
    """``margin`` if it is a margin (>= 0; inf rescores every text), else one line naming it (NaN
    included: it would compare false with everything and turn the recheck off unsaid)."""
    if not margin >= 0:
        raise InputError(f"recheck margin must be >= 0 (0: off), got {margin}")
    return margin


# tinysent.json keys written by earlier versions, and their names now (a model saved then still loads)
LEGACY_KEYS = {"class_bias": "class_offsets"}


# the parts of a card that a test measured through the model's decision rule
CARD_SCORES = ("scores", "ci95", "n", "measured")


@dataclass
class ModelMeta:
    """What a model needs at prediction time besides its weights, and where it came from."""

    labels: list[str] = field(
        default_factory=lambda: ["negative", "positive"]
    )  # any names, 2 or more (a two-label model decides names[1] by threshold)
    normalizer: dict = field(default_factory=lambda: NormalizerConfig().to_dict())
    max_length: int = 64
    threshold: float = 0.5  # two labels: names[1] (positive) when P(names[1]) >= threshold
    temperature: float = 1.0  # logits are divided by it (calibration)
    neutral_band: list[float] | None = None  # default (lo, hi) for 3-way output, if any
    # 3+ labels: added to each label's log-probability before the argmax (a decision rule chosen on
    # validation, e.g. for balanced recall); the probabilities themselves are unchanged
    class_offsets: list[float] | None = None
    base_model: str | None = None
    method: str = "fine-tune"  # or "distill"
    data_sha256: str | None = None
    train_rows: int | None = None
    git_commit: str | None = None
    tinysent_version: str = __version__
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    # how the saved weights were made: tweets read, optimizer steps and seconds of training until this
    # checkpoint, the autocast precision, the machine and the date (a report's "what the run did")
    training: dict = field(default_factory=dict)
    # what a packed model says of itself (runtime/registry.py): its tier (fast / accurate) and the
    # test scores measured through its default path after packing, with the command that measured them
    card: dict = field(default_factory=dict)
    # The weight files that belong to this model, with their sha256: load() uses only these and
    # refuses one that does not match (a stale export or a damaged copy is never run silently).
    files: dict[str, str] | None = None

    def pin(self, model_dir: str | Path, names: list[str]) -> None:
        """Record ``names`` (weight files in ``model_dir``) as this model's, with their sha256."""
        from tinysent.core.files import file_sha256

        self.files = {n: file_sha256(Path(model_dir) / n) for n in names}

    def decision_rule(self) -> tuple:
        """What turns logits into labels: the card's scores hold only for the rule they were measured
        under."""
        offsets = tuple(self.class_offsets) if self.class_offsets else None
        band = tuple(self.neutral_band) if self.neutral_band else None
        return (self.temperature, self.threshold, offsets, band)

    def save(self, model_dir: str | Path) -> None:
        """Write tinysent.json. When the decision rule changed since it was loaded (calibrate), the
        card's test scores, measured under the old rule, are dropped with a warning: a card never
        claims numbers the model no longer gives (``tinysent evaluate --card`` measures it again)."""
        loaded = getattr(self, "_rule_at_load", None)
        measured = [k for k in CARD_SCORES if k in self.card]
        if loaded is not None and measured and loaded != self.decision_rule():
            import logging

            logging.getLogger(__name__).warning(
                "the card's test scores (%s) were measured under the decision rule this run changed: "
                "dropped; measure them again with `tinysent evaluate --card`",
                ", ".join(f"{k} {v:.4f}" for k, v in self.card.get("scores", {}).items()),
            )
            self.card = {k: v for k, v in self.card.items() if k not in CARD_SCORES}
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
        text = read_metadata(path)  # a regular file of at most 16 MiB, or a one-line error
        try:
            d = json.loads(text)
        except (ValueError, UnicodeDecodeError) as e:
            raise MetaError(f"{path} is not valid JSON ({e}); restore it from the model's source") from None
        if not isinstance(d, dict):
            raise MetaError(f"{path} holds a JSON {type(d).__name__}, not an object; restore it")
        known = {f.name for f in fields(cls)}
        d = {LEGACY_KEYS.get(k, k): v for k, v in d.items()}
        try:
            meta = cls(**{k: v for k, v in d.items() if k in known})
        except TypeError as e:
            raise MetaError(f"{path}: {e}") from None
        meta.validate(path)
        meta._rule_at_load = meta.decision_rule()
        return meta

    def validate(self, where: str | Path = META_FILE) -> None:
        """Refuse values that would give wrong answers quietly: a temperature of 0 (NaN), a negative one
        (labels inverted), a threshold outside (0, 1), unknown labels, a band outside [0, 1]."""

        def bad(msg):
            raise MetaError(f"{where}: {msg}; fix the file or restore it from the model's source")

        def number(x):
            return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

        labels = self.labels
        if not (
            isinstance(labels, list)
            and 2 <= len(labels) <= MAX_LABELS
            and all(isinstance(x, str) and x.strip() and len(x) <= 100 for x in labels)
            and len(set(labels)) == len(labels)
        ):
            shown = repr(labels)[:200] + ("..." if len(repr(labels)) > 200 else "")
            bad(f"labels must be a list of 2 to {MAX_LABELS} distinct non-empty names, not {shown}")
        if any(x in RESERVED for x in labels):
            bad(
                f"label {next(x for x in labels if x in RESERVED)!r} is a prediction record's field "
                f"({', '.join(RESERVED)}); retrain with it renamed"
            )
        if self.neutral_band is not None and labels != ["negative", "positive"]:
            bad("neutral_band applies to a [negative, positive] model only")
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
        offsets = self.class_offsets
        if offsets is not None and not (
            len(labels) >= 3
            and isinstance(offsets, list)
            and len(offsets) == len(labels)
            and all(number(x) and abs(x) <= 20 for x in offsets)
        ):
            bad(
                f"class_offsets must be null or one number in [-20, 20] per label (3 or more labels), not "
                f"{repr(offsets)[:100]}"
            )
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


@dataclass
class OnnxMeta:
    """The ``onnx`` section of an export's tinysent.json (kept in ``config["onnx"]``), typed."""

    opset: int | None = None
    files: dict = field(default_factory=dict)  # kind ("fp32", "int8", "int8_avx2") -> file name, and notes
    parity: dict = field(default_factory=dict)
    source: str | None = None
    recheck: dict | None = None  # {"margin": float, "file": fp32 file}
    data: list[str] = field(default_factory=list)  # external weight files the graphs read

    @classmethod
    def of(cls, meta: ModelMeta) -> OnnxMeta:
        d = (meta.config or {}).get("onnx") or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def recheck_margin(self) -> float:
        return float((self.recheck or {}).get("margin", 0.0))

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {})}


def model_meta(folder) -> ModelMeta:
    """A model folder's metadata; a ``tinysent train --seeds`` folder's first seed's."""
    folder = Path(folder)
    seeds = sorted(folder.glob("seed-*/tinysent.json"))
    return ModelMeta.load(seeds[0].parent if seeds and not (folder / "tinysent.json").exists() else folder)
