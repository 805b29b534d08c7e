"""The ONNX graph: the BERT classifier traced for a CPU (last layer for ``[CLS]`` only, sequence-major
attention) and attention's transposes read through by ONNX Runtime's FusedMatMul."""

from __future__ import annotations

from pathlib import Path

OPSET = 17


def trace(model, tokenizer, path: Path, cls_only: bool = True) -> str:
    """Write ``model`` (a transformers classifier, eval mode) as ONNX with dynamic batch and sequence
    axes; returns how the last layer was written ("cls-only" or "full")."""
    import torch

    model.config.return_dict = False
    graph = cls_only_graph(model) if cls_only else None
    dummy = tokenizer(["a dummy tweet to trace", "short"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(
            graph or model,
            (dummy["input_ids"], dummy["attention_mask"]),
            str(path),
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
    return "cls-only" if graph is not None else "full"


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
