"""ONNX export with dynamic batch and sequence axes, optional int8 dynamic quantization, and a
parity check against the PyTorch model that is part of every export.

The exported folder is self-describing: ``model.onnx`` (fp32), ``model.int8.onnx`` (and
``model.int8-avx2.onnx`` for CPUs without VNNI), reading their weights from the folder's
``model.safetensors`` and ``model.weights`` (:mod:`.storage`),
config.json (labels), tokenizer files and ``tinysent.json`` with a typed ``onnx`` section (opset,
quantization, parity, recheck margin) and every file's sha256. In order: :mod:`.graph` (trace),
:mod:`.quantize` (int8), :mod:`.storage` (shared, fp16-where-exact weights), :mod:`.parity`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tinysent.core.errors import InputError, ParityError
from tinysent.core.folder import ModelFolder, pinned_names
from tinysent.core.meta import RECHECK_MARGIN, ModelMeta, OnnxMeta, check_recheck_margin
from tinysent.runtime.predictor import Predictor
from tinysent.train.export.graph import OPSET, cls_only_graph, fuse_attention_transposes, trace
from tinysent.train.export.parity import (
    REFERENCE,
    SMOKE_SENTENCES,
    check_parity,
    validation_agreement,
    write_validation,
)
from tinysent.train.export.quantize import KERNELS, SCHEME, quantize, this_cpu
from tinysent.train.export.storage import share_weights


def export(
    model_dir: str | Path,
    out: str | Path,
    int8: bool = False,
    reference: list[str] | None = None,
    min_agreement: float = 0.995,
    cls_only: bool = True,
    standard_ops: bool = False,
    recheck_margin: float = RECHECK_MARGIN,
    kernels: tuple[str, ...] | None = None,
) -> dict:
    """Write the ONNX model(s) to ``out`` and check them against PyTorch; returns the parity report.
    ``recheck_margin`` (int8): near-ties within it are rescored in fp32 when the int8 file is used
    (0: never; see :meth:`tinysent.core.folder.ModelFolder.recheck`); ``kernels``: the int8 files to
    make ("vnni", "avx2"; default: this CPU's). Built in a temporary folder: a refused export leaves
    ``out`` as it was."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from tinysent.train.models import load_tokenizer, quiet_transformers

    model_dir, out = Path(model_dir), Path(out)
    if out.resolve() == model_dir.resolve():
        raise InputError("--out must differ from the model folder")
    check_recheck_margin(recheck_margin)
    kernels = tuple(kernels or (this_cpu(),)) if int8 else ()
    if unknown := [k for k in kernels if k not in KERNELS]:
        raise InputError(f"unknown int8 kernel {unknown[0]!r}: one of {', '.join(KERNELS)}")
    ref = Predictor.from_dir(model_dir, backend="torch", device="cpu")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        # tokenizer, config, metadata, and the PyTorch weights that the graphs read (storage.py)
        source = ModelFolder(model_dir)
        source.copy_to(tmp, weights=[source.weights("torch")])
        # Eager attention traces to plain MatMul/Softmax, which int8 quantization speeds up best
        # (measured: 1,561 vs 1,199 tweets/s for the SDPA trace, TinyBERT 4L-312D, 2 cores).
        with quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(
                model_dir, dtype=torch.float32, attn_implementation="eager", use_safetensors=True
            ).eval()
        fp32 = tmp / "model.onnx"
        files = {"fp32": fp32.name, "last_layer": trace(model, load_tokenizer(model_dir), fp32, cls_only)}
        for k in kernels:
            files["int8" if k == "vnni" else f"int8_{k}"] = quantize(fp32, tmp, k).name
        if kernels:
            files["int8_kernels"] = {k: KERNELS[k][0] for k in kernels}
            files["int8_scheme"] = SCHEME
        graphs = [files[k] for k in ("fp32", "int8", "int8_avx2") if k in files]
        if not standard_ops:  # after quantization, whose shape inference knows standard ops only
            n = 0
            for g in graphs:
                n = fuse_attention_transposes(tmp / g)
            files["attention"] = f"{n} Transposes read through by FusedMatMul (ONNX Runtime op)"
        storage = share_weights(tmp, graphs)
        files["storage"] = storage
        report = check_parity(ref, tmp, files, recheck_margin, reference or REFERENCE, min_agreement)
        meta = ModelMeta.load(model_dir)
        onnx_doc = OnnxMeta(OPSET, files, report, str(model_dir), data=storage["data"])
        if kernels and recheck_margin:
            onnx_doc.recheck = {"margin": recheck_margin, "file": files["fp32"]}
        meta.config = {**meta.config, "onnx": onnx_doc.to_dict()}
        meta.pin(tmp, pinned_names(tmp, [*graphs, *storage["data"]]))
        meta.save(tmp)
        replace_folder(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"out": str(out), "files": files, "parity": report}


def replace_folder(new: Path, out: Path) -> None:
    """Put the finished folder ``new`` at ``out``: files of ``out`` that ``new`` also has are replaced,
    other files of ``out`` (a model card, a run's logs) stay."""
    out.mkdir(parents=True, exist_ok=True)
    for f in new.iterdir():
        f.replace(out / f.name)


__all__ = [
    "OPSET",
    "REFERENCE",
    "SMOKE_SENTENCES",
    "ParityError",
    "cls_only_graph",
    "export",
    "fuse_attention_transposes",
    "validation_agreement",
    "write_validation",
]
