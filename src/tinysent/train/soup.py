"""Weight averaging ("model soups", Wortsman et al. 2022): models fine-tuned from one start, averaged
parameter by parameter, often generalise better than each of them, at no cost when predicting (the
same shape, the same speed). The greedy soup takes the ingredients best first on validation and keeps
each only if the average with it scores no lower there: every choice is a validation choice.

Only models that can be averaged are: the same tensors and shapes, labels, tokenizer and normaliser
(a different vocabulary or label order would average unrelated numbers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tinysent.core.errors import InputError
from tinysent.core.folder import pinned_names
from tinysent.core.meta import META_FILE, ModelMeta
from tinysent.core.tokenize import TOKENIZER_FILES

WEIGHTS = "model.safetensors"
COPIED = ("config.json", "tokenizer_config.json", "special_tokens_map.json", "merges.txt")  # + tokenizer
SAME = ("labels", "normalizer", "max_length")  # what must agree in tinysent.json, besides tensors


def check_compatible(folders: list[Path]) -> None:
    """Refuse, naming the folder and the difference, models that cannot be averaged."""
    from safetensors import safe_open

    if len(folders) < 2:
        raise InputError("a soup needs two or more model folders")
    first = folders[0]

    for d in folders:
        for name in (WEIGHTS, META_FILE):
            if not (Path(d) / name).exists():
                raise InputError(f"{d} has no {name}: give model folders written by tinysent")

    def shapes(d: Path) -> dict:
        with safe_open(d / WEIGHTS, "pt") as f:
            names = f.keys()  # a safetensors file handle is not iterable
            return {k: tuple(f.get_slice(k).get_shape()) for k in names}

    ref, ref_meta = shapes(first), json.loads((first / META_FILE).read_text())
    ref_vocab = (first / "tokenizer.json").read_bytes()
    for d in folders[1:]:  # the deepest difference first: another architecture is not a setting
        other = shapes(d)
        if other != ref:
            diff = sorted(set(other) ^ set(ref)) or [k for k in ref if ref[k] != other[k]]
            raise InputError(
                f"{d} and {first} are different architectures (tensor {diff[0]}: "
                f"{other.get(diff[0])} vs {ref.get(diff[0])}): only fine-tunes of one base average"
            )
        if (d / "tokenizer.json").read_bytes() != ref_vocab:
            raise InputError(f"{d} and {first} have different tokenizers: their embeddings do not align")
        meta = json.loads((d / META_FILE).read_text())
        for key in SAME:
            if meta.get(key) != ref_meta.get(key):
                raise InputError(f"{d} and {first} differ in {key}: only models of one task average")


def average(folders: list[Path], weights: list[float] | None = None) -> dict:
    """The weighted mean of the folders' tensors (uniform by default), in float32."""
    from safetensors.torch import load_file

    weights = weights or [1.0] * len(folders)
    total = float(sum(weights))
    mean: dict = {}
    for d, w in zip(folders, weights):
        for k, v in load_file(d / WEIGHTS).items():
            v = v.float() * (w / total)
            mean[k] = mean[k] + v if k in mean else v
    return mean


def write_soup(folders: list[Path], state: dict, out: Path, metrics: dict | None = None) -> Path:
    """A model folder for averaged weights: the first ingredient's config and tokenizer, tinysent.json
    naming every ingredient with its weights' sha256 (method "soup"), the weights pinned."""
    import shutil

    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    for name in (*COPIED, *TOKENIZER_FILES):
        if (folders[0] / name).exists():
            shutil.copy2(folders[0] / name, out / name)
    save_file({k: v.contiguous() for k, v in state.items()}, out / WEIGHTS, metadata={"format": "pt"})
    meta = ModelMeta.load(folders[0])
    meta.method = "soup"
    meta.base_model = str(folders[0])
    meta.class_offsets, meta.temperature = None, 1.0  # a decision rule belongs to weights: calibrate again
    meta.train_rows = None  # no one training set: the ingredients' configs say what each learned from
    ingredients = [{"folder": str(d), "sha256": ModelMeta.load(d).files[WEIGHTS]} for d in folders]
    meta.config = {**meta.config, "soup": ingredients}
    meta.metrics = {"validation": metrics} if metrics else {}
    meta.pin(out, pinned_names(out, [WEIGHTS]))
    meta.save(out)
    return out


def greedy_soup(folders: list[Path], score: Callable[[dict], float], log=print) -> tuple[list[Path], float]:
    """Ingredients best first by ``score`` (a validation score of a state dict); each joins the soup
    only if the uniform average with it scores at least as high. Returns (chosen, its score)."""
    check_compatible(folders)
    alone = {d: score(average([d])) for d in folders}
    order = sorted(folders, key=lambda d: -alone[d])
    for d in order:
        log(f"{d}: {alone[d]:.4f} alone")
    chosen, best = [order[0]], alone[order[0]]
    for d in order[1:]:
        s = score(average([*chosen, d]))
        log(f"+ {d}: {s:.4f} ({'kept' if s >= best else 'left out'})")
        if s >= best:
            chosen, best = [*chosen, d], s
    return chosen, best
