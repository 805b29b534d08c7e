"""``tinysent pack``: the shipped form of a model (how the model in the package is made)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tinysent.core.errors import ModelError
from tinysent.core.folder import ModelFolder, pinned_names
from tinysent.core.meta import RECHECK_MARGIN, ModelMeta
from tinysent.data.outputs import swap_in, temporary_prefix
from tinysent.runtime.predictor import Predictor
from tinysent.train.export import REFERENCE, export
from tinysent.train.export.quantize import KERNELS

# A label whose fp32 logits are this close to another label's is a tie that fp16's rounding may break
# either way (fp16 weights move the shipped model's logits by ~1e-3); farther away, a change means fp16
# broke the model (an overflow, a lost outlier weight).
FP16_TIE = 0.01


def fp16_labels(rule, l32, l16) -> tuple[float, int]:
    """(label agreement, labels changed away from a near-tie) of fp16 logits against fp32's, under the
    model's own rule (:class:`~tinysent.core.labels.LabelModel`), and its binary answer too for a
    sentiment model with more labels: the lower agreement and the larger count of the two."""
    import numpy as np

    agree, changed = 1.0, 0
    for binary in (False, True) if rule.sentiment and not rule.two_label else (False,):
        said = [np.array(rule.labels(rule.proba(z), binary=binary)) for z in (l32, l16)]
        flips = said[0] != said[1]
        tie = rule.margin(l32, rule.decision(binary=binary)) < FP16_TIE
        agree, changed = min(agree, float(1 - flips.mean())), max(changed, int((flips & ~tie).sum()))
    return agree, changed


def pack(
    model_dir: str | os.PathLike,
    out: str | os.PathLike,
    reference: list[str] | None = None,
    onnx: bool = True,
    recheck_margin: float = RECHECK_MARGIN,
) -> dict:
    """A compact, complete copy of a model folder: fp16 safetensors (half the size, loaded back as
    fp32; what ``[train]`` users fine-tune from and ``--backend torch`` runs), and with ``onnx`` the
    int8 ONNX graphs for both CPU kinds with their fp32 recheck graph (the default path, so an
    install without torch predicts with it), tokenizer, config and tinysent.json pinning every file;
    a model card (README.md) already in ``out`` is kept. Built in a temporary folder and moved into
    place only when fp16 changes no label on the reference tweets (but near-ties: :data:`FP16_TIE`)
    and the ONNX graphs pass their parity check, so a refused model leaves ``out`` as it was. This is
    how the shipped model is made."""
    import numpy as np
    from safetensors.torch import load_file, save_file

    from tinysent.core.numerics import fp16_state_dict

    src, out = Path(model_dir), Path(out)
    if not (src / "model.safetensors").exists():
        raise ModelError(f"{src} has no model.safetensors: pass a model folder written by tinysent")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(out, "pack"), dir=out.parent))
    try:
        ModelFolder(src).copy_to(tmp, weights=[])
        save_file(
            fp16_state_dict(load_file(str(src / "model.safetensors"))),
            str(tmp / "model.safetensors"),
            metadata={"format": "pt"},
        )
        meta = ModelMeta.load(tmp, required=True)
        meta.pin(tmp, pinned_names(tmp, ["model.safetensors"]))
        meta.save(tmp)
        texts = reference or REFERENCE
        ref = Predictor.from_dir(src, backend="torch", device="cpu")
        ids, _ = ref.token_ids(texts)
        l32, l16 = ref.logits(ids), Predictor.from_dir(tmp, backend="torch", device="cpu").logits(ids)
        p32, p16 = ref.labels.proba(l32), ref.labels.proba(l16)
        agree, changed = fp16_labels(ref.labels, l32, l16)
        if changed:
            raise ModelError(
                f"fp16 changed {changed} of {len(texts)} labels on the reference tweets (not near-ties): "
                "ship fp32 instead"
            )
        report = None
        if onnx:
            report = export(
                tmp,
                tmp / "onnx",
                int8=True,
                reference=texts,
                kernels=tuple(KERNELS),
                recheck_margin=recheck_margin,
            )
            onnx_meta = ModelMeta.load(tmp / "onnx", required=True)
            for f in (tmp / "onnx").iterdir():
                if f.name in onnx_meta.files:
                    f.replace(tmp / f.name)
            meta.config = onnx_meta.config
            meta.config["onnx"]["source"] = str(src)  # not the temporary folder it was exported from
            meta.files = {**meta.files, **onnx_meta.files}
            meta.save(tmp)
            shutil.rmtree(tmp / "onnx")
        if (out / "README.md").exists():
            shutil.copy(out / "README.md", tmp / "README.md")
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide an installed package's model from other users
        for f in tmp.iterdir():
            f.chmod(0o644)
        swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "out": str(out),
        "size_mib": round((out / "model.safetensors").stat().st_size / 2**20, 2),
        "reference_n": len(texts),
        "label_agreement": agree,
        "max_abs_prob_diff": float(np.abs(p32 - p16).max()),
        "onnx": report,
        "files_mib": {f.name: round(f.stat().st_size / 2**20, 2) for f in sorted(out.iterdir())},
    }
