"""ONNX export with dynamic batch and sequence axes, optional int8 dynamic quantization, and a
parity check against the PyTorch model that is part of every export.

The exported folder is self-describing: ``model.onnx`` / ``model.int8.onnx``, config.json (labels),
tokenizer files and ``tinysent.json`` with an ``onnx`` section (opset, quantization, parity).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .config import RECHECK_MARGIN, ModelMeta
from .evaluate import SMOKE_SENTENCES

OPSET = 17
# Reference tweets for the parity check when no file is given: varied length, emoji, emoticons.
REFERENCE = SMOKE_SENTENCES + [
    "@user omg this is sooo good :) http://t.co/x",
    "worst. day. ever. my phone died and I missed the bus :(",
    "not bad at all, actually kind of great",
    "I can't believe it's already Monday again...",
    "Just finished the marathon!!! 😂❤",
    "meh",
    "",
    "the new update broke everything, thanks a lot",
    "love love love this song " * 8,
]


def cpu_has_vnni() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags or "amx_int8" in flags


class ParityError(RuntimeError):
    pass


def int8_weight_range(vnni: bool) -> int:
    """Largest int8 weight level the export uses: symmetric [-127, 127], or [-64, 64] with
    reduce_range (CPUs without VNNI, whose u8*s8 path saturates)."""
    return 127 if vnni else 64


def fake_int8_activation(x):
    """What ONNX Runtime's DynamicQuantizeLinear does to a MatMul input, in float: one uint8 scale and
    zero point for the whole tensor from its min and max (0 always representable), rounding half to
    even."""
    import torch

    with torch.no_grad():
        lo, hi = x.min().clamp(max=0), x.max().clamp(min=0)
        scale = ((hi - lo) / 255).clamp(min=torch.finfo(x.dtype).tiny)
        zp = torch.round(-lo / scale).clamp(0, 255)
        q = (torch.round(x / scale) + zp).clamp(0, 255)
        return (q - zp) * scale


def fake_int8_weight(w, levels: int = 127, per_channel: bool = True):
    """quantize_dynamic's int8 weights: symmetric, scale = max|w| / levels, per channel (one scale per
    output row of the Linear, a column of the ONNX MatMul) or for the whole matrix."""
    import torch

    with torch.no_grad():
        absmax = w.abs().amax(-1, keepdim=True) if per_channel else w.abs().max()
        scale = (absmax / levels).clamp(min=torch.finfo(w.dtype).tiny)
        return torch.round(w / scale).clamp(-levels, levels) * scale


class simulate_int8:  # noqa: N801 - used as a context manager, like torch.no_grad
    """Within the block every ``nn.Linear`` of ``model`` computes as the int8 ONNX export does
    (activations and weights fake-quantized as above; every Linear is an int8 MatMul there).
    Why: to find where int8 loses a model's predictions without an export per question
    (``scripts/int8_sites.py``). Nothing is added to the model's state dict."""

    def __init__(self, model, vnni=None, where=None, activations=True, weights=True, per_channel=True):
        """``where(name)``: only the Linears it accepts; ``activations`` / ``weights``: which side."""
        self.model = model
        self.levels = int8_weight_range(cpu_has_vnni() if vnni is None else vnni)
        self.where, self.activations, self.weights = where, activations, weights
        self.per_channel = per_channel
        self.patched = []

    def __enter__(self):
        import torch
        import torch.nn.functional as F

        act = fake_int8_activation if self.activations else (lambda x: x)
        levels, per_channel = (self.levels if self.weights else None), self.per_channel
        for name, m in self.model.named_modules():
            if not isinstance(m, torch.nn.Linear) or "forward" in m.__dict__:
                continue
            if self.where is None or self.where(name):

                def forward(x, m=m):
                    w = m.weight if levels is None else fake_int8_weight(m.weight, levels, per_channel)
                    return F.linear(act(x), w, m.bias)

                m.forward = forward
                self.patched.append(m)
        return self.model

    def __exit__(self, *exc):
        for m in self.patched:
            del m.forward
        self.patched = []
        return False


def cls_only_graph(model):
    """The BERT classifier written out for ONNX Runtime on a CPU; the same logits.

    Why: (1) the pooler reads only ``[CLS]``, so in the last layer the other tokens need keys and values
    but no queries, attention output or FFN: ~20 % less work for 4 layers. (2) Hidden states are kept
    sequence-major ([s, b, D]) so that a head split is a free reshape to [s, b*h, d] that attention's
    MatMuls read in place (:func:`fuse_attention_transposes`), where the usual [b, h, s, d] layout
    copies Q, K and V every layer. Measured in benchmarks/inference.py. Returns None for models that
    are not a plain BERT classifier (they are exported as they are).
    """
    import math

    import torch

    bert = getattr(model, "bert", None)
    if (
        bert is None
        or bert.pooler is None
        or type(model).__name__ != "BertForSequenceClassification"
        or getattr(model.config, "position_embedding_type", "absolute") != "absolute"
        or model.config.is_decoder
    ):
        return None

    def block(layer, h_q, h_kv, bias):
        sa = layer.attention.self
        s_q, s_kv, b = h_q.shape[0], h_kv.shape[0], h_kv.shape[1]
        heads, d = sa.num_attention_heads, sa.attention_head_size

        def split(x):  # [s, b, h*d] -> [s, b*h, d]: a view
            return x.reshape(x.shape[0], b * heads, d)

        q, k, v = split(sa.query(h_q)), split(sa.key(h_kv)), split(sa.value(h_kv))
        scores = (q.transpose(0, 1) @ k.permute(1, 2, 0)) / math.sqrt(d)  # [b*h, s_q, s_kv]
        probs = torch.softmax(scores.reshape(b, heads, s_q, s_kv) + bias, -1).reshape(b * heads, s_q, s_kv)
        ctx = (probs @ v.transpose(0, 1)).transpose(0, 1).reshape(s_q, b, heads * d)
        a = layer.attention.output.LayerNorm(layer.attention.output.dense(ctx) + h_q)
        return layer.output.LayerNorm(layer.output.dense(layer.intermediate(a)) + a)

    class ClsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            h = bert.embeddings(input_ids=input_ids).transpose(0, 1)  # [s, b, D]
            bias = (1.0 - attention_mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
            layers = bert.encoder.layer
            for layer in layers[:-1]:
                h = block(layer, h, h, bias)
            cls = block(layers[-1], h[:1], h, bias)  # [1, b, D]
            return model.classifier(bert.pooler(cls.transpose(0, 1)))

    return ClsOnly().eval()


# Transposes that a MatMul can read through instead (ONNX Runtime's FusedMatMul flags), by
# (rank, perm, MatMul input): with transBatch the stored tensor is [rows, batch, cols].
_READ_THROUGH = {
    (3, (1, 0, 2), 0): {"transBatchA": 1},
    (3, (1, 0, 2), 1): {"transBatchB": 1},
    (3, (1, 2, 0), 1): {"transBatchB": 1, "transB": 1},
}


def fuse_attention_transposes(path: Path) -> int:
    """Rewrite an exported graph in place so that attention's MatMuls read Q, K and V where they lie.

    Why: a Transpose copies its whole tensor, and one that moves the last axis (torch's K^T in the
    [b, h, d, s] layout) ran ~5x slower than the others; ONNX Runtime's FusedMatMul reads strided
    (transB, transBatchA/B) for less than the copies cost (benchmarks/onnx_profile.py).
    Sequence-major graphs (:func:`_cls_only_graph`) lose all head-split copies but one per layer;
    the plain HF graph (``--full-last-layer``) keeps Q and V's but splits K like them and reads it
    transposed. Same numbers; the graph then needs ONNX Runtime (a com.microsoft op):
    ``standard_ops=True`` in :func:`export` skips this. Returns the number of
    Transposes removed or made cheap."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    graph = model.graph
    users: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    made = {n.output[0]: n for n in graph.node}
    done, dead = 0, set()
    for mm in graph.node:
        if mm.op_type != "MatMul":
            continue
        flags = {}
        for slot in (0, 1):
            t = made.get(mm.input[slot])
            if t is None or t.op_type != "Transpose" or len(users.get(t.output[0], [])) != 1:
                continue
            perm = tuple(next(a for a in t.attribute if a.name == "perm").ints)
            how = _READ_THROUGH.get((len(perm), perm, slot))
            if how is not None:
                flags.update(how)
                mm.input[slot] = t.input[0]
                dead.add(id(t))
                done += 1
            elif slot == 1 and perm == (0, 2, 3, 1):  # [b, s, h, d] -> [b, h, d, s]: split like Q, read ^T
                next(a for a in t.attribute if a.name == "perm").ints[:] = [0, 2, 1, 3]
                flags["transB"] = 1
                done += 1
        if flags:
            mm.op_type, mm.domain = "FusedMatMul", "com.microsoft"
            mm.attribute.extend([helper.make_attribute(k, v) for k, v in sorted(flags.items())])
            mm.attribute.append(helper.make_attribute("alpha", 1.0))
    if dead:
        keep = [n for n in graph.node if id(n) not in dead]
        del graph.node[:]
        graph.node.extend(keep)
    if done and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(path))
    return done


def export(
    model_dir: str | Path,
    out: str | Path,
    int8: bool = False,
    reference: list[str] | None = None,
    min_agreement: float = 0.995,
    cls_only: bool = True,
    standard_ops: bool = False,
    recheck_margin: float = RECHECK_MARGIN,
) -> dict:
    """Write the ONNX model(s) to ``out`` and check them against PyTorch; returns the parity report.
    ``recheck_margin`` (int8): near-ties within it are rescored in fp32 when the int8 file is used
    (0: never; see :func:`tinysent.predict.recheck_files`)."""
    import torch

    from .predict import OnnxBackend, Predictor

    model_dir, out = Path(model_dir), Path(out)
    if out.resolve() == model_dir.resolve():
        raise ValueError("--out must differ from the model folder")
    ref = Predictor.from_dir(model_dir, backend="torch", device="cpu")
    out.mkdir(parents=True, exist_ok=True)
    for f in model_dir.iterdir():  # tokenizer, config, metadata; not the torch weights
        if f.is_file() and f.suffix in (".json", ".txt", ".model") and f.name != "train_log.jsonl":
            shutil.copy(f, out / f.name)

    from transformers import AutoModelForSequenceClassification

    # Eager attention traces to plain MatMul/Softmax, which int8 quantization speeds up best
    # (measured: 1,561 vs 1,199 tweets/s for the SDPA trace, TinyBERT 4L-312D, 2 cores).
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    model.config.return_dict = False
    graph = cls_only_graph(model) if cls_only else None
    dummy = ref.tokenizer(["a dummy tweet to trace", "short"], padding=True, return_tensors="pt")
    fp32 = out / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(
            graph or model,
            (dummy["input_ids"], dummy["attention_mask"]),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "logits": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    files = {"fp32": fp32.name, "last_layer": "cls-only" if graph is not None else "full"}
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        q = out / "model.int8.onnx"
        vnni = cpu_has_vnni()
        # Signed int8 weights; without VNNI, reduce_range avoids the saturation of AVX2's u8*s8 path.
        # Per channel: BERT's FFN output weights have outlier columns (one residual dimension with
        # weights 30x the rest) that a single scale per matrix quantizes coarsely for every column;
        # this was most of the int8 error (scripts/int8_sites.py) and costs no speed. MatMuls only:
        # the embedding tables stay fp32, so simulate_int8 computes exactly what this file does.
        quantize_dynamic(
            str(fp32),
            str(q),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=not vnni,
            op_types_to_quantize=["MatMul"],
        )
        files["int8"] = q.name
        files["int8_kernel"] = "vnni (u8 x s8, full range)" if vnni else "avx2 (reduce_range)"
        files["int8_scheme"] = "dynamic: uint8 activations per tensor, int8 weights per channel, MatMuls only"
    if recheck_margin < 0:
        raise ValueError(f"recheck margin must be >= 0 (0: off), got {recheck_margin}")
    if not standard_ops:  # after quantization, whose shape inference knows standard ops only
        for kind in ("fp32", "int8"):
            if kind in files:
                n = fuse_attention_transposes(out / files[kind])
        files["attention"] = f"{n} Transposes read through by FusedMatMul (ONNX Runtime op)"

    texts = reference or REFERENCE
    p_ref, _ = ref.positive_proba(texts)
    labels_ref = p_ref >= ref.meta.threshold
    report = {"reference_n": len(texts)}
    sessions = {k: OnnxBackend(out / files[k]) for k in ("fp32", "int8") if k in files}
    runs = {"fp32": ("fp32", 0.0)}  # report key: (file, recheck margin)
    if "int8" in sessions:
        runs.update(int8_alone=("int8", 0.0), int8=("int8", recheck_margin))
    for kind, (file_kind, margin) in runs.items():
        check = sessions["fp32"] if margin else None
        pred = Predictor(sessions[file_kind], ref.tokenizer, ref.meta, out, None, check, margin)
        p, _ = pred.positive_proba(texts)
        agree = float(np.mean((p >= ref.meta.threshold) == labels_ref))
        report[kind] = {"label_agreement": agree, "max_abs_prob_diff": float(np.max(np.abs(p - p_ref)))}
        if kind == "int8":
            report[kind]["recheck_margin"], report[kind]["rechecked"] = recheck_margin, pred.rechecked
        if agree < min_agreement and kind != "int8_alone":
            raise ParityError(
                f"{kind} ONNX agrees with PyTorch on {agree:.2%} of labels (< {min_agreement:.1%})"
            )
    meta = ModelMeta.load(model_dir)
    onnx_doc = {"opset": OPSET, "files": files, "parity": report, "source": str(model_dir)}
    if "int8" in files and recheck_margin:
        onnx_doc["recheck"] = {"margin": recheck_margin, "file": files["fp32"]}
    meta.config = {**meta.config, "onnx": onnx_doc}
    meta.pin(out, [files[k] for k in ("fp32", "int8") if k in files])
    meta.save(out)
    return {"out": str(out), "files": files, "parity": report}


def validation_agreement(
    model_dir: str | Path, onnx_dir: str | Path, train_data: str | None = None, precision: str = "auto"
) -> dict:
    """The ONNX export against the PyTorch model on the model's own validation data (rebuilt from its
    saved config): accuracy of both, label agreement, probability differences. Quantization choices
    are judged here, never on the test set. A 3-class model is compared on TweetEval's validation
    split (its most probable class) and, when it was trained with Sentiment140 rows, on their
    validation split too (P(pos) vs P(neg)). The export is used as :func:`tinysent.load` uses it
    (int8: with its fp32 recheck and token cap); ``*_int8_alone`` keys give int8 without the recheck."""
    import time

    from .config import ModelMeta
    from .numerics import binary_share, softmax
    from .predict import Predictor

    ref = Predictor.from_dir(model_dir, backend="torch", device="cpu")
    q = Predictor.from_dir(onnx_dir, backend="onnx", precision=precision)
    doc = {
        "model": str(model_dir),
        "onnx": str(Path(onnx_dir) / q.backend.file.name),
        "recheck_margin": q.recheck_margin,
        "max_tokens": q.max_tokens,
    }

    def agreement(key: str, ids, decision, label) -> tuple[np.ndarray, np.ndarray]:
        """fp32 and as-loaded ONNX logits; the agreement of int8 alone too, when there is a recheck."""
        l32 = ref.logits(ids, 256)
        if q.recheck is not None:
            doc[key + "_int8_alone"] = float((label(q.logits(ids, 256)) == label(l32)).mean())
        before = q.rechecked
        lq = q.logits(ids, 256, decision)
        doc[key.replace("label_agreement", "rechecked")] = (q.rechecked - before) / max(1, len(ids))
        return l32, lq

    if ref.three_class:
        from .handlabelled import classes3, read_tweeteval

        meta = ModelMeta.load(model_dir)
        val = read_tweeteval(meta.config["tweeteval_data"], "val")
        y = classes3(val.polarity)
        ids, _ = ref.token_ids(val.texts)
        l32, lq = agreement("tweeteval_val_label_agreement", ids, "argmax", lambda lg: lg.argmax(-1))
        a32, a8 = l32.argmax(-1), lq.argmax(-1)
        doc.update(
            tweeteval_val_n=int(len(y)),
            tweeteval_val_accuracy_torch_fp32=float((a32 == y).mean()),
            tweeteval_val_accuracy_onnx=float((a8 == y).mean()),
            tweeteval_val_label_agreement=float((a32 == a8).mean()),
        )
    if not ref.three_class or ModelMeta.load(model_dir).config.get("train_data") or train_data:
        from .dataset import validation_split

        prep = validation_split(model_dir, ref.tokenizer, train_data)
        y = np.asarray(prep.val_labels)
        pos, neg = ref.meta.labels.index("positive"), ref.meta.labels.index("negative")

        def share(lg):
            return binary_share(softmax(lg), neg, pos)

        l32, lq = agreement("label_agreement", prep.val_ids, q.bounds(0.5), lambda lg: share(lg) >= 0.5)
        p32, p8 = share(l32), share(lq)
        doc.update(
            val_n=int(len(y)),
            val_accuracy_torch_fp32=float(((p32 >= 0.5) == y).mean()),
            val_accuracy_onnx=float(((p8 >= 0.5) == y).mean()),
            label_agreement=float(((p32 >= 0.5) == (p8 >= 0.5)).mean()),
            mean_abs_prob_diff=float(np.abs(p32 - p8).mean()),
            max_abs_prob_diff=float(np.abs(p32 - p8).max()),
        )
    doc["date"] = time.strftime("%Y-%m-%d")
    return doc


def cached_export(model_dir: str | Path, int8: bool = True) -> Path:
    """The ONNX (int8) export of ``model_dir``, built once into the user cache and reused: keyed by
    the model's weights, the tinysent version and this CPU's int8 kernel, parity-checked when built
    (:func:`export`), and hash-pinned: its tinysent.json lists the files' sha256 (as every export's
    does), checked on every use, so a damaged or swapped file is rebuilt, never run. The fp32 file
    stays beside the int8 one for the recheck of near-ties. This is what makes the default
    ``tinysent.load()`` / ``tinysent predict`` path the fast one."""
    import hashlib
    import logging
    import tempfile

    from . import __version__
    from .config import MetaError
    from .data import cache_dir, file_sha256

    model_dir = Path(model_dir)
    kind = "vnni" if cpu_has_vnni() else "avx2"
    weights = file_sha256(model_dir / "model.safetensors")
    key = hashlib.sha256(
        f"{weights}|{__version__}|{OPSET}|{kind}|{int8}|recheck {RECHECK_MARGIN}".encode()
    ).hexdigest()[:20]
    dest = cache_dir() / "onnx" / key
    names = ["model.onnx", "model.int8.onnx"] if int8 else ["model.onnx"]  # int8 + its fp32 recheck
    if all((dest / n).exists() for n in names):
        try:
            pinned = ModelMeta.load(dest).files or {}
        except MetaError:
            pinned = {}
        bad = [n for n in names if pinned.get(n) != file_sha256(dest / n)]
        if not bad:
            return dest
        logging.getLogger(__name__).warning("%s does not match its pinned sha256: rebuilding", dest / bad[0])
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=dest.parent))
    log = logging.getLogger(__name__)
    log.info("building the int8 ONNX export of %s into %s (once)", model_dir, dest)
    try:
        logging.disable(logging.WARNING)  # ONNX Runtime's advice on pre-processing is noise to a user here
        try:
            export(model_dir, tmp / "m", int8=int8)
        finally:
            logging.disable(logging.NOTSET)
        shutil.rmtree(dest, ignore_errors=True)
        (tmp / "m").rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
