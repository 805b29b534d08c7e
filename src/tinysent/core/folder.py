"""A model folder, checked: which files belong to the model, which weight file a backend and
precision run, and that each file is the one its tinysent.json pinned (sha256).

The one place that knows a folder's file list: prediction, Ray (which ships the files to its
workers), pack and export all ask :class:`ModelFolder`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tinysent.core.errors import InputError, MissingFileError, ModelError
from tinysent.core.files import file_sha256, left_aside, read_metadata, regular_file
from tinysent.core.meta import META_FILE, MetaError, ModelMeta, OnnxMeta, check_recheck_margin
from tinysent.core.tokenize import TOKENIZER_FILES

BACKENDS = ("auto", "torch", "onnx")
PRECISIONS = ("auto", "int8", "fp32")  # which ONNX file; "auto" takes int8 when there is one
ONNX_FILES = {"int8": "model.int8.onnx", "fp32": "model.onnx"}
# int8 made with reduce_range for CPUs without VNNI (whose u8 x s8 kernel saturates at full range)
INT8_AVX2 = "model.int8-avx2.onnx"
TORCH_WEIGHTS = "model.safetensors"
# Files that describe a model (besides its weights): config, tokenizer, metadata, model card.
DESCRIPTION_FILES = (
    "config.json",
    META_FILE,
    *TOKENIZER_FILES,
    "tokenizer_config.json",
    "special_tokens_map.json",
    "merges.txt",
    "added_tokens.json",
    "README.md",
)

KNOWN_FILES = {*DESCRIPTION_FILES, TORCH_WEIGHTS, INT8_AVX2, *ONNX_FILES.values()}


def cpu_has_vnni() -> bool:
    """Whether this CPU has int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags or "amx_int8" in flags


class ModelFolder:
    """A model folder whose metadata is valid and whose tokenizer files are present."""

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ModelError(f"{path} is a file; pass the model folder that holds it")
        if not (path / "config.json").exists():
            aside = left_aside(path)
            if aside:  # a run killed while replacing it (data.outputs.recover puts it back)
                raise MissingFileError(
                    f"{path} was being replaced by a run that was killed; the previous model is at "
                    f"{aside[-1]}: rerun that command to get it back, or rename it to {path.name}"
                )
            raise MissingFileError(
                f"{path} is not a model folder (no config.json); train one with `tinysent train`"
            )
        self.path = path
        for f in path.iterdir():  # a device, FIFO or socket would hang or exhaust memory when read
            if f.name in KNOWN_FILES or f.suffix in (".onnx", ".safetensors", ".json", ".txt", ".model"):
                regular_file(f)
        self.verified: set[str] = set()  # files whose sha256 matched: a load hashes each file once
        self.meta = ModelMeta.load(path, required=True)
        self.onnx = OnnxMeta.of(self.meta)
        self.check_config()
        if not any((path / f).exists() for f in TOKENIZER_FILES):
            raise ModelError(
                f"{path} has no tokenizer files ({', '.join(TOKENIZER_FILES)}): every word would be "
                "[UNK]; copy them from the model's source folder"
            )
        for name in TOKENIZER_FILES:  # a shuffled vocabulary is valid JSON and wrong: pinned like weights
            if self.meta.files is not None and name in self.meta.files:
                self.check(path / name)

    def check_config(self) -> None:
        """The metadata agrees with config.json: its labels are config.json's id2label, in order (when
        config.json names them; swapped names would invert every answer quietly), and its max length
        fits the model's position embeddings (a longer text would fail inside the model)."""
        import json
        import re

        try:
            config = json.loads(read_metadata(self.path / "config.json"))
        except (ValueError, UnicodeDecodeError):
            config = None
        if not isinstance(config, dict):
            raise MetaError(
                f"{self.path / 'config.json'} is not a JSON object; restore it from the model's source"
            )
        positions = config.get("max_position_embeddings")
        if isinstance(positions, int) and self.meta.max_length > positions:
            raise MetaError(
                f"{self.path / META_FILE}: max_length {self.meta.max_length} is more than the model's "
                f"{positions} positions (config.json max_position_embeddings); fix the file or restore it "
                "from the model's source"
            )
        id2label = config.get("id2label") or {}
        names = [id2label[k] for k in sorted(id2label, key=lambda k: int(k))] if id2label else []
        if not names or all(re.fullmatch(r"LABEL_\d+", str(n)) for n in names):
            return  # transformers' placeholder names: nothing to compare
        if names != list(self.meta.labels):
            shown = ", ".join(map(str, names))[:200]
            raise MetaError(
                f"{self.path / META_FILE}: labels must be [{shown}] (config.json's id2label, in order), "
                f"not {str(self.meta.labels)[:200]}; fix the file or restore it from the model's source"
            )

    def belongs(self, name: str) -> bool:
        """Present and listed in tinysent.json (folders from before the list: present)."""
        return (self.path / name).exists() and (self.meta.files is None or name in self.meta.files)

    def onnx_file(self, kind: str) -> Path | None:
        """The ONNX file of ``kind`` ("int8" or "fp32") this CPU runs, if the folder has one: int8
        is the reduce-range file on a CPU without VNNI when the export made one."""
        if kind == "int8" and not cpu_has_vnni() and self.belongs(INT8_AVX2):
            return self.path / INT8_AVX2
        name = ONNX_FILES[kind]
        return self.path / name if self.belongs(name) else None

    def weights(self, backend: str = "auto", precision: str = "auto") -> Path:
        """The weight file ``backend`` / ``precision`` pick, checked (:meth:`check`); never a pickle."""
        if backend not in BACKENDS:
            raise InputError(f"backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
        if backend == "torch" and precision != "auto":
            raise InputError(
                f"precision {precision!r} picks an ONNX file: use it with --backend onnx or auto"
            )
        listed = self.meta.files or {}
        gone = [n for n in (*ONNX_FILES.values(), INT8_AVX2) if n in listed and not (self.path / n).exists()]
        if gone and precision == "auto" and backend != "torch":  # never another path than the one measured
            raise MissingFileError(
                f"{self.path / gone[0]} is listed in its {META_FILE} but not there (deleted?): the default "
                "path, which its numbers were measured on, needs it; restore the folder (tinysent export or "
                "pack it again, or reinstall it), or choose the files left on purpose (--precision fp32 / "
                "int8, --backend torch)"
            )
        kinds = list(ONNX_FILES) if precision == "auto" else [precision]
        onnx = next((f for f in (self.onnx_file(k) for k in kinds) if f is not None), None)
        if onnx is None and (backend == "onnx" or precision != "auto"):
            what = (
                "ONNX model" if precision == "auto" else f"ONNX {precision} model ({ONNX_FILES[precision]})"
            )
            raise MissingFileError(
                f"{self.path} has no {what}; make one with `tinysent export --model {self.path} --out DIR"
                + (" --int8`" if precision == "int8" else "`")
            )
        use_torch = backend == "torch" or (backend == "auto" and onnx is None)
        weights = self.path / TORCH_WEIGHTS if use_torch else onnx
        if use_torch and not self.belongs(TORCH_WEIGHTS):
            pickles = [f.name for f in self.path.glob("*.bin")] + [f.name for f in self.path.glob("*.pt*")]
            raise ModelError(
                f"{self.path} has no {TORCH_WEIGHTS}"
                + (f" listed in its {META_FILE}" if (self.path / TORCH_WEIGHTS).exists() else "")
                + (
                    f" (only {', '.join(sorted(pickles))}: a pickle, which tinysent never loads; "
                    "convert it to safetensors where it came from)"
                    if pickles
                    else (
                        "; it has ONNX files: use --backend onnx"
                        if any(self.belongs(n) for n in (*ONNX_FILES.values(), INT8_AVX2))
                        else "; pass the folder tinysent train / distill wrote"
                    )
                )
            )
        self.check(weights)
        return weights

    def data_files(self, weights: Path) -> list[str]:
        """External weight files an ONNX graph reads (shared by the export's graphs)."""
        return list(self.onnx.data) if weights.suffix == ".onnx" else []

    def check(self, weights: Path) -> None:
        """``weights`` (and the external data its graph reads) match their pinned sha256 (also used for
        pinned tokenizer files)."""
        if self.meta.files is None:
            return
        for name in [weights.name, *self.data_files(weights)]:
            if name in self.verified:  # the int8 and fp32 graphs read the same data files
                continue
            f = self.path / name
            if name not in self.meta.files or not f.exists() or file_sha256(f) != self.meta.files[name]:
                raise ModelError(
                    f"{f} does not match the sha256 in its {META_FILE}"
                    + ("" if f.exists() else " (it is missing)")
                    + ": the file is damaged, truncated or not this model's; copy it again or rerun "
                    "the step that wrote it"
                )
            self.verified.add(name)

    def recheck(self, weights: Path, margin: float | None = None) -> tuple[float, Path | None]:
        """(margin, fp32 file) of an int8 model's fp32 recheck: texts whose int8 logits lie within
        ``margin`` of another label are scored again by the fp32 ONNX file of the same export.
        ``margin``: None takes the export's own (``onnx.recheck``); 0 turns it off. Why: dynamic
        int8 changes the label of ~1 % of the shipped model's tweets, all near-ties; rechecking the
        ~3 % nearest to a boundary keeps int8's speed and fp32's labels
        (results/cpu-2026-11-26/int8-recheck). The fp32 file is checked like the int8 one."""
        if margin is not None:
            check_recheck_margin(margin)
        if weights.name not in (ONNX_FILES["int8"], INT8_AVX2):
            if margin:
                raise InputError(
                    f"a recheck margin applies to an int8 ONNX model; {weights.name} is not one "
                    "(drop the margin, or pick the int8 file: --precision int8)"
                )
            return 0.0, None
        if margin is None:
            margin = check_recheck_margin(self.onnx.recheck_margin)
        if not margin:
            return 0.0, None
        return margin, self.weights("onnx", "fp32")

    def files(self, weights: list[Path] | None = None) -> list[str]:
        """The names of the files a copy of this model needs: its description files and ``weights``
        (default: every pinned weight file) with the data they read."""
        names = [n for n in DESCRIPTION_FILES if (self.path / n).exists()]
        if weights is None:
            weights = [self.path / n for n in (self.meta.files or {}) if (self.path / n).exists()]
        for w in weights:
            for n in [w.name, *self.data_files(w)]:
                if n not in names:
                    names.append(n)
        return names

    def copy_to(self, dest: str | os.PathLike, weights: list[Path] | None = None) -> Path:
        """Copy the files :meth:`files` names into ``dest`` (made if needed)."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for n in self.files(weights):
            shutil.copy(self.path / n, dest / n)
        return dest


def pinned_names(folder: str | os.PathLike, weights: list[str]) -> list[str]:
    """What a writer pins in tinysent.json: ``weights`` and the tokenizer files the folder holds."""
    return [*weights, *(n for n in TOKENIZER_FILES if (Path(folder) / n).exists())]


def check_max_length(base: Path, max_length: int | None, option: str = "--max-length") -> None:
    """``max_length`` fits the base model's position embeddings (checked before training: a model
    saved with a longer one is refused by every later command)."""
    if max_length is None:
        return
    try:
        raw = json.loads((Path(base) / "config.json").read_text())
    except (OSError, ValueError):
        return
    positions = raw.get("max_position_embeddings")
    if not isinstance(positions, int):
        return
    # RoBERTa-style models (MPNet too) spend two positions on the padding offset
    usable = (
        positions - 2
        if raw.get("model_type") in ("roberta", "mpnet", "xlm-roberta", "camembert")
        else positions
    )
    if max_length > usable:
        raise InputError(
            f"{option} {max_length} is more than the {usable} positions of {base} (config.json "
            f"max_position_embeddings): use {option} {usable} or less (or leave it out to choose it from "
            "the data)"
        )


def require_safetensors(folder: Path, role: str = "--base") -> Path:
    """A model folder's weights are safetensors, or a one-line refusal: a pickle (``pytorch_model.bin``,
    ``*.pt``) can run any code when loaded, and tinysent never unpickles."""
    folder = Path(folder)
    if any(folder.glob("*.safetensors")):
        return folder
    pickles = sorted(
        f.name for pat in ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl") for f in folder.glob(pat)
    )
    raise ModelError(
        f"{role} {folder} has no .safetensors weights"
        + (
            f", only {', '.join(pickles)}: a pickle, which tinysent never loads (it can run code); "
            "convert it first (transformers: from_pretrained(...).save_pretrained(DIR, "
            "safe_serialization=True) where you trust the file)"
            if pickles
            else "; pass a folder that has model.safetensors"
        )
    )
