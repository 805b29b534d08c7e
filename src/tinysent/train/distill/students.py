"""Students: a shape from random weights, a checkpoint, a subset of the teacher's layers, or the
fine-tuned teacher pruned to a shape (``prune:SHAPE``)."""

from __future__ import annotations

import copy
import logging
import math

import torch

from tinysent.core.errors import InputError
from tinysent.train.batching import make_loader
from tinysent.train.loop import model_logits

log = logging.getLogger(__name__)


def make_student(spec: str | dict, teacher, seed: int = 0):
    """Student from a shape (name or dict; random init), a checkpoint folder, or ``layers:i,j,…``
    of the teacher's layers (1-based). ``prune:SHAPE`` needs calibration tweets: :func:`pruned_student`."""
    from transformers import BertForSequenceClassification

    from tinysent.train.models import STUDENT_SHAPES, build_student, load_classifier

    if isinstance(spec, dict) or spec in STUDENT_SHAPES:
        return build_student(spec, teacher.config.vocab_size, seed=seed)
    if spec.startswith("layers:"):
        layers = [int(x) for x in spec.split(":", 1)[1].split(",")]
        n = teacher.config.num_hidden_layers
        if not layers or any(not 1 <= i <= n for i in layers):
            raise InputError(f"{spec}: layers must be 1-based indices into the teacher's {n} layers")
        cfg = copy.deepcopy(teacher.config)
        cfg.num_hidden_layers = len(layers)
        student = BertForSequenceClassification(cfg)
        sd = teacher.state_dict()
        new = {}
        for k, v in sd.items():
            if ".encoder.layer." in k:
                pre, rest = k.split(".encoder.layer.", 1)
                idx, tail = rest.split(".", 1)
                if int(idx) + 1 in layers:
                    new[f"{pre}.encoder.layer.{layers.index(int(idx) + 1)}.{tail}"] = v
            else:
                new[k] = v
        student.load_state_dict(new, strict=False)
        return student
    model, tok, _, _ = load_classifier(spec)
    if tok.vocab_size != teacher.config.vocab_size:
        raise InputError(
            f"student vocab ({tok.vocab_size}) differs from the teacher's ({teacher.config.vocab_size}): "
            "distillation needs the same tokenizer"
        )
    return model


@torch.no_grad()
def importance(teacher, calib_ids: list[list[int]], batch_size: int = 128) -> dict:
    """Mean |activation| over real tokens of calibration tweets: per residual channel (summed over every
    LayerNorm output), per query·key and value dimension, per FFN neuron (Minitron-style scores)."""
    base = teacher.bert
    dev = next(teacher.parameters()).device
    d = teacher.config.hidden_size
    n_layers = teacher.config.num_hidden_layers
    acc: dict = {"hidden": torch.zeros(d, dtype=torch.float64)}
    for i in range(n_layers):
        for k, n in (("q", d), ("k", d), ("v", d), ("ffn", teacher.config.intermediate_size)):
            acc[(k, i)] = torch.zeros(n, dtype=torch.float64)
    mask_box: list[torch.Tensor] = []

    def add(key):
        def f(_m, _inp, out):
            m = mask_box[0][..., None].to(out.dtype)
            acc[key] += (out.abs() * m).sum((0, 1)).double().cpu()

        return f

    hooks = [base.embeddings.LayerNorm.register_forward_hook(add("hidden"))]
    for i, layer in enumerate(base.encoder.layer):
        hooks += [
            layer.attention.output.LayerNorm.register_forward_hook(add("hidden")),
            layer.output.LayerNorm.register_forward_hook(add("hidden")),
            layer.attention.self.query.register_forward_hook(add(("q", i))),
            layer.attention.self.key.register_forward_hook(add(("k", i))),
            layer.attention.self.value.register_forward_hook(add(("v", i))),
            layer.intermediate.register_forward_hook(add(("ffn", i))),
        ]
    teacher.eval()
    try:
        for batch in make_loader(calib_ids, None, batch_size, 0, False):
            mask_box[:] = [batch["attention_mask"].to(dev)]
            teacher(input_ids=batch["input_ids"].to(dev), attention_mask=mask_box[0])
    finally:
        for h in hooks:
            h.remove()
    return acc


def head_dims(score: torch.Tensor, heads: int, keep: int) -> torch.Tensor:
    """Indices (into the full width) of the ``keep`` best dimensions of every head, head order kept."""
    per = score.view(heads, -1)
    top = per.topk(keep, dim=1).indices.sort(dim=1).values
    return (top + torch.arange(heads)[:, None] * per.shape[1]).flatten()


@torch.no_grad()
def prune_teacher(teacher, shape: str | dict, calib_ids: list[list[int]], layers: list[int] | None = None):
    """The fine-tuned teacher cut down to a student shape: keep ``layers`` (1-based; None: the subset
    whose logits stay closest to the teacher's on the calibration tweets), then the most active
    residual channels, query·key and value dimensions per head, and FFN neurons.

    Why: a student that starts as the teacher's best small approximation needs far less distillation
    than one from random weights (Minitron, Muralidharan et al., 2024) — which matters on a CPU.
    """
    import itertools

    from transformers import BertForSequenceClassification

    from tinysent.train.models import STUDENT_SHAPES

    dims = STUDENT_SHAPES[shape] if isinstance(shape, str) else dict(shape)
    tc = teacher.config
    heads = dims.get("num_attention_heads", tc.num_attention_heads)
    d_s, d_t = dims["hidden_size"], tc.hidden_size
    problems = []
    if heads != tc.num_attention_heads:
        problems.append(f"heads {heads} vs the teacher's {tc.num_attention_heads}")
    if d_s > d_t or d_s % heads:
        problems.append(f"hidden size {d_s} must be <= {d_t} and a multiple of {heads} heads")
    if dims["intermediate_size"] > tc.intermediate_size:
        problems.append(f"FFN {dims['intermediate_size']} > the teacher's {tc.intermediate_size}")
    if dims["num_hidden_layers"] > tc.num_hidden_layers:
        problems.append(f"{dims['num_hidden_layers']} layers > the teacher's {tc.num_hidden_layers}")
    if layers is not None and (
        len(layers) != dims["num_hidden_layers"] or any(not 1 <= g <= tc.num_hidden_layers for g in layers)
    ):
        n = dims["num_hidden_layers"]
        problems.append(f"layers {layers}: need {n} teacher layers in 1..{tc.num_hidden_layers}")
    if problems:
        raise InputError("cannot prune the teacher to this shape: " + "; ".join(problems))
    imp = importance(teacher, calib_ids)
    hd_t, hd_s = d_t // heads, d_s // heads
    keep_h = imp["hidden"].topk(d_s).indices.sort().values
    sd = teacher.state_dict()
    scale = math.sqrt(hd_s / hd_t)  # the student divides scores by √(its head width): keep Q·Kᵀ/√d

    def layer_weights(i: int) -> dict:
        """Teacher layer ``i`` (0-based) cut down; keys relative to the layer."""
        w = {
            k[len(f"bert.encoder.layer.{i}.") :]: t
            for k, t in sd.items()
            if k.startswith(f"bert.encoder.layer.{i}.")
        }
        qk = head_dims(imp[("q", i)] * imp[("k", i)], heads, hd_s)
        v_norm = w["attention.output.dense.weight"].norm(dim=0).double().cpu()
        v = head_dims(imp[("v", i)] * v_norm, heads, hd_s)
        f_norm = w["output.dense.weight"].norm(dim=0).double().cpu()
        ffn = (imp[("ffn", i)] * f_norm).topk(dims["intermediate_size"]).indices.sort().values
        o = {
            "attention.self.query.weight": w["attention.self.query.weight"][qk][:, keep_h] * scale,
            "attention.self.query.bias": w["attention.self.query.bias"][qk] * scale,
            "attention.self.key.weight": w["attention.self.key.weight"][qk][:, keep_h],
            "attention.self.key.bias": w["attention.self.key.bias"][qk],
            "attention.self.value.weight": w["attention.self.value.weight"][v][:, keep_h],
            "attention.self.value.bias": w["attention.self.value.bias"][v],
            "attention.output.dense.weight": w["attention.output.dense.weight"][keep_h][:, v],
            "attention.output.dense.bias": w["attention.output.dense.bias"][keep_h],
            "intermediate.dense.weight": w["intermediate.dense.weight"][ffn][:, keep_h],
            "intermediate.dense.bias": w["intermediate.dense.bias"][ffn],
            "output.dense.weight": w["output.dense.weight"][keep_h][:, ffn],
            "output.dense.bias": w["output.dense.bias"][keep_h],
        }
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            for t in ("weight", "bias"):
                o[f"{ln}.{t}"] = w[f"{ln}.{t}"][keep_h]
        return {k: t.clone() for k, t in o.items()}

    shared = {}
    for k in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        shared[f"bert.embeddings.{k}.weight"] = sd[f"bert.embeddings.{k}.weight"][:, keep_h].clone()
    for t in ("weight", "bias"):
        shared[f"bert.embeddings.LayerNorm.{t}"] = sd[f"bert.embeddings.LayerNorm.{t}"][keep_h].clone()
    shared["bert.pooler.dense.weight"] = sd["bert.pooler.dense.weight"][keep_h][:, keep_h].clone()
    shared["bert.pooler.dense.bias"] = sd["bert.pooler.dense.bias"][keep_h].clone()
    shared["classifier.weight"] = sd["classifier.weight"][:, keep_h].clone()
    shared["classifier.bias"] = sd["classifier.bias"].clone()
    cfg = copy.deepcopy(tc)
    for k, val in dims.items():
        setattr(cfg, k, val)
    per_layer = [layer_weights(i) for i in range(tc.num_hidden_layers)]

    def build(chosen: list[int]):
        student = BertForSequenceClassification(cfg)
        state = dict(shared)
        for m, g in enumerate(chosen):
            state.update({f"bert.encoder.layer.{m}.{k}": t for k, t in per_layer[g - 1].items()})
        missing, unexpected = student.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if "position_ids" not in k]:
            raise RuntimeError(f"pruning left weights unset: {missing} / {unexpected}")
        return student.to(next(teacher.parameters()).device).eval()

    if layers is None:
        t_logits = model_logits(teacher, calib_ids, 128)
        t_p = torch.from_numpy(t_logits).softmax(-1)
        best = None
        for chosen in itertools.combinations(range(1, tc.num_hidden_layers + 1), dims["num_hidden_layers"]):
            s = torch.from_numpy(model_logits(build(list(chosen)), calib_ids, 128))
            kl = (t_p * (t_p.clamp_min(1e-9).log() - s.log_softmax(-1))).sum(-1).mean().item()
            log.info("pruned layers %s: KL to the teacher %.4f", chosen, kl)
            if best is None or kl < best[0]:
                best = (kl, list(chosen))
        layers = best[1]
    return build(layers), list(layers)


def pruned_student(spec: str, teacher, calib_ids, layers=None):
    """``prune:SHAPE`` → (student, kept teacher layers), with a clear error for an unknown shape."""
    from tinysent.train.models import STUDENT_SHAPES

    shape = spec.split(":", 1)[1]
    if shape not in STUDENT_SHAPES:
        raise InputError(f"{spec}: unknown shape {shape!r}; choose one of {sorted(STUDENT_SHAPES)}")
    if not calib_ids:
        raise InputError("pruning needs calibration tweets (the transfer set)")
    return prune_teacher(teacher, shape, calib_ids, layers)
