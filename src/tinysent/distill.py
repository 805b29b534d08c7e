"""TinyBERT task distillation (Jiao et al., 2020, arXiv 1909.10351): a small student learns from a
fine-tuned teacher layer by layer, then from its predictions.

Stage 1 (intermediate layers): MSE between the student's and the teacher's pre-softmax attention
scores (padding excluded), hidden states (through a learned projection when widths differ) and
embeddings, with student layer m matched to teacher layer ``layer_map[m]``.
Stage 2 (prediction layer): soft cross-entropy against the teacher's logits at a temperature.
Optional stage 0: stage 1's losses against a pre-trained, not fine-tuned, teacher on plain tweets
(general distillation), for a student that starts from random weights.

The official code's per-task defaults were written to mistyped argument names and silently never
applied; here every setting is a typed :class:`DistillConfig` field, validated, and tested.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint
from . import data as D
from .config import ModelMeta, TrainConfig, git_commit
from .train import (
    Budget,
    JsonlLog,
    evaluate_loader,
    make_accelerator,
    make_loader,
    make_optimizer,
    prepare_data,
    save_model,
)

log = logging.getLogger(__name__)


@dataclass
class DistillConfig:
    """Every ``tinysent distill`` option; defaults are the ones tests check."""

    teacher: str = ""
    student: str | dict = (
        "tinybert-4l"  # shape name or dict, a checkpoint folder, or "layers:1,3,5" of the teacher
    )
    data: str | None = None
    out: str = "runs/student"
    unlabelled: str | None = None  # a text file of extra tweets, one per line, labelled by the teacher
    general_teacher: str | None = None  # pre-trained teacher for stage 0
    max_train: int | None = None
    val_fraction: float = 0.01
    max_val: int | None = 4000
    dedupe: bool = True
    layer_map: list[int] | None = None  # teacher layer (1-based) per student layer; None: uniform
    prune_calibration: int = 2048  # transfer tweets whose activations rank what "prune:SHAPE" keeps
    stage0_epochs: float = 0.0
    stage1_epochs: float = 1.0
    stage2_epochs: float = 1.0
    stage0_lr: float = 3e-4
    stage1_lr: float = 3e-4
    stage2_lr: float = 1e-4
    temperature: float = 1.0
    hard_label_weight: float = 0.0  # stage 2: weight of the true-label cross-entropy beside the soft one
    attention_weight: float = 1.0
    hidden_weight: float = 1.0
    embedding_weight: float = 1.0
    batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    eval_every: int = 1000
    seed: int = 0
    mixed_precision: str = "auto"
    log_every: int = 50
    stage_budgets: list[float] | None = None  # seconds for stages 0, 1, 2; schedules shorten to fit
    resume: bool = False  # continue from out/checkpoint (written at every evaluation) when there is one
    sizes: dict = field(default_factory=dict)  # filled in: parameter counts

    def __post_init__(self) -> None:
        for name in ("stage0_epochs", "stage1_epochs", "stage2_epochs"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name)})")
        if self.stage1_epochs + self.stage2_epochs + self.stage0_epochs <= 0:
            raise ValueError("nothing to do: all stage epochs are 0")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0 (got {self.temperature})")
        if not 0 <= self.hard_label_weight <= 1:
            raise ValueError(f"hard_label_weight must be in [0, 1] (got {self.hard_label_weight})")
        if self.stage_budgets is not None and (len(self.stage_budgets) != 3 or min(self.stage_budgets) <= 0):
            raise ValueError("stage budgets: three positive numbers of seconds (stages 0, 1, 2)")
        if self.stage0_epochs > 0 and not self.general_teacher:
            raise ValueError("stage 0 (general distillation) needs --general-teacher, a pre-trained model")

    @classmethod
    def from_dict(cls, d: dict) -> DistillConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown distillation settings: {sorted(unknown)}")
        return cls(**d)


# ---------------------------------------------------------------------------------------------
# Losses


def uniform_layer_map(n_student: int, n_teacher: int) -> list[int]:
    """Teacher layer (1-based) for each student layer: g(m) = round(m * N / M), e.g. 4 of 12 → 3,6,9,12."""
    if n_student > n_teacher:
        raise ValueError(f"student has more layers ({n_student}) than the teacher ({n_teacher})")
    return [int(math.floor(m * n_teacher / n_student + 0.5)) for m in range(1, n_student + 1)]


def attention_loss(s_scores: torch.Tensor, t_scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of pre-softmax attention scores [B, H, L, L] over (query, key) pairs that are both real tokens."""
    pair = (mask[:, None, :, None] * mask[:, None, None, :]).to(s_scores.dtype)  # [B, 1, L, L]
    diff = (s_scores.float() - t_scores.float()) ** 2 * pair
    return diff.sum() / (pair.sum() * s_scores.shape[1]).clamp_min(1)


def hidden_loss(s_hidden: torch.Tensor, t_hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of (already projected) hidden states [B, L, D] over real tokens."""
    m = mask[..., None].to(s_hidden.dtype)
    diff = (s_hidden.float() - t_hidden.float()) ** 2 * m
    return diff.sum() / (m.sum() * s_hidden.shape[-1]).clamp_min(1)


def soft_cross_entropy(
    s_logits: torch.Tensor, t_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Cross-entropy of the student's tempered distribution against the teacher's, mean over the batch."""
    t = F.softmax(t_logits.float() / temperature, -1)
    return -(t * F.log_softmax(s_logits.float() / temperature, -1)).sum(-1).mean()


# ---------------------------------------------------------------------------------------------
# Attention scores, captured inside the model's own forward


def _attn_modules(model) -> list:
    base = model.bert if hasattr(model, "bert") else model.base_model
    return [layer.attention.self for layer in base.encoder.layer]


@contextlib.contextmanager
def capture_scores(model):
    """Collect each layer's query/key projections during a forward; ``scores()`` gives Q·Kᵀ/√d.

    Computed from the same projections the model uses, so it works with any attention kernel
    (SDPA, flash), which return softmax outputs at best.
    """
    store: list[dict] = []
    handles = []
    mods = _attn_modules(model)
    for i, mod in enumerate(mods):
        store.append({})

        def hook(name, i=i):
            def f(_m, _inp, out):
                store[i][name] = out

            return f

        handles.append(mod.query.register_forward_hook(hook("q")))
        handles.append(mod.key.register_forward_hook(hook("k")))
    heads = mods[0].num_attention_heads if hasattr(mods[0], "num_attention_heads") else None
    head_dim = mods[0].attention_head_size

    def scores() -> list[torch.Tensor]:
        out = []
        for s in store:
            q, k = s["q"], s["k"]
            b, n, _ = q.shape
            h = heads or q.shape[-1] // head_dim
            q = q.view(b, n, h, head_dim).transpose(1, 2)
            k = k.view(b, n, h, head_dim).transpose(1, 2)
            out.append(q @ k.transpose(-1, -2) / math.sqrt(head_dim))
        return out

    try:
        yield scores
    finally:
        for h in handles:
            h.remove()


# ---------------------------------------------------------------------------------------------
# Students


def make_student(spec: str | dict, teacher, seed: int = 0):
    """Student from a shape (name or dict; random init), a checkpoint folder, or ``layers:i,j,…``
    of the teacher's layers (1-based). ``prune:SHAPE`` needs calibration tweets: :func:`pruned_student`."""
    from transformers import BertForSequenceClassification

    from .models import STUDENT_SHAPES, build_student, load_classifier

    if isinstance(spec, dict) or spec in STUDENT_SHAPES:
        return build_student(spec, teacher.config.vocab_size, seed=seed)
    if spec.startswith("layers:"):
        layers = [int(x) for x in spec.split(":", 1)[1].split(",")]
        n = teacher.config.num_hidden_layers
        if not layers or any(not 1 <= i <= n for i in layers):
            raise ValueError(f"{spec}: layers must be 1-based indices into the teacher's {n} layers")
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
        raise ValueError(
            f"student vocab ({tok.vocab_size}) differs from the teacher's ({teacher.config.vocab_size}): "
            "distillation needs the same tokenizer"
        )
    return model


@torch.no_grad()
def _importance(teacher, calib_ids: list[list[int]], batch_size: int = 128) -> dict:
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


def _head_dims(score: torch.Tensor, heads: int, keep: int) -> torch.Tensor:
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

    from .models import STUDENT_SHAPES

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
        raise ValueError("cannot prune the teacher to this shape: " + "; ".join(problems))
    imp = _importance(teacher, calib_ids)
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
        qk = _head_dims(imp[("q", i)] * imp[("k", i)], heads, hd_s)
        v_norm = w["attention.output.dense.weight"].norm(dim=0).double().cpu()
        v = _head_dims(imp[("v", i)] * v_norm, heads, hd_s)
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
        no_acc = _NoAcc(next(teacher.parameters()).device)
        t_logits = teacher_logits(teacher, calib_ids, 32, no_acc, progress=False)
        t_p = torch.from_numpy(t_logits).softmax(-1)
        best = None
        for chosen in itertools.combinations(range(1, tc.num_hidden_layers + 1), dims["num_hidden_layers"]):
            s = torch.from_numpy(teacher_logits(build(list(chosen)), calib_ids, 32, no_acc, progress=False))
            kl = (t_p * (t_p.clamp_min(1e-9).log() - s.log_softmax(-1))).sum(-1).mean().item()
            log.info("pruned layers %s: KL to the teacher %.4f", chosen, kl)
            if best is None or kl < best[0]:
                best = (kl, list(chosen))
        layers = best[1]
    return build(layers), list(layers)


def pruned_student(spec: str, teacher, calib_ids, layers=None):
    """``prune:SHAPE`` → (student, kept teacher layers), with a clear error for an unknown shape."""
    from .models import STUDENT_SHAPES

    shape = spec.split(":", 1)[1]
    if shape not in STUDENT_SHAPES:
        raise ValueError(f"{spec}: unknown shape {shape!r}; choose one of {sorted(STUDENT_SHAPES)}")
    if not calib_ids:
        raise ValueError("pruning needs calibration tweets (the transfer set)")
    return prune_teacher(teacher, shape, calib_ids, layers)


class _NoAcc:
    """Enough of an Accelerator for :func:`teacher_logits` outside a training loop."""

    is_main_process = True

    def __init__(self, device):
        self.device = device

    def autocast(self):
        return contextlib.nullcontext()


class Projections(torch.nn.Module):
    """Learned W_h per student layer (and W_e for embeddings) from student to teacher width."""

    def __init__(self, n: int, d_student: int, d_teacher: int):
        super().__init__()
        self.maps = torch.nn.ModuleList(
            torch.nn.Linear(d_student, d_teacher) if d_student != d_teacher else torch.nn.Identity()
            for _ in range(n)
        )

    def forward(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return self.maps[i](x)


# ---------------------------------------------------------------------------------------------
# The stages


@torch.no_grad()
def teacher_logits(teacher, ids: list[list[int]], batch_size: int, acc, progress: bool = True) -> np.ndarray:
    """The teacher's logits for every transfer example, computed once (cheaper than per epoch)."""
    from tqdm.auto import tqdm

    loader = make_loader(ids, None, batch_size * 4, 0, False)
    out = np.zeros((len(ids), teacher.config.num_labels), dtype=np.float32)
    teacher.eval()
    for batch in tqdm(
        loader, desc="teacher logits", unit="batch", disable=not (progress and acc.is_main_process)
    ):
        with acc.autocast():
            lg = teacher(
                input_ids=batch["input_ids"].to(acc.device),
                attention_mask=batch["attention_mask"].to(acc.device),
            ).logits
        out[batch["index"].numpy()] = lg.float().cpu().numpy()
    return out


def cached_teacher_logits(teacher, teacher_dir: Path, ids, batch_size: int, acc, out: Path) -> np.ndarray:
    """Teacher logits, stored in ``out`` under a key of the teacher's weights and the token ids, so a
    rerun (or a resumed run) on the same transfer set skips the teacher's pass."""
    import hashlib

    h = hashlib.sha256(D.file_sha256(teacher_dir / "model.safetensors").encode())
    for row in ids:
        h.update(np.asarray(row, dtype=np.int32).tobytes() + b"|")
    path = out / f"teacher_logits-{h.hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    logits = teacher_logits(teacher, ids, batch_size, acc)
    if acc.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        np.save(path, logits, allow_pickle=False)
    return logits


def intermediate_loss(cfg: DistillConfig, s_out, t_out, s_scores, t_scores, mask, proj, layer_map):
    """Stage 1's sum: embeddings + hidden states + attention scores of mapped layers."""
    loss_e = hidden_loss(proj(0, s_out.hidden_states[0]), t_out.hidden_states[0], mask)
    loss_h = sum(
        hidden_loss(proj(m + 1, s_out.hidden_states[m + 1]), t_out.hidden_states[g], mask)
        for m, g in enumerate(layer_map)
    )
    loss_a = sum(attention_loss(s_scores[m], t_scores[g - 1], mask) for m, g in enumerate(layer_map))
    total = cfg.embedding_weight * loss_e + cfg.hidden_weight * loss_h + cfg.attention_weight * loss_a
    return total, {"emb": loss_e.detach(), "hidden": loss_h.detach(), "attn": loss_a.detach()}


def _run_stage(
    stage: str,
    cfg: DistillConfig,
    acc,
    student,
    teacher,
    proj,
    ids,
    labels,
    t_logits,
    val_loader,
    epochs: float,
    lr: float,
    jlog: JsonlLog,
    on_eval=None,
    progress=True,
    budget: float | None = None,
    out: Path | None = None,
    resume: bool = False,
):
    """One stage's loop. At every evaluation the stage's state (student, projections, optimizer,
    schedule, data position, RNG) goes to ``out/checkpoint``; with ``resume`` the stage continues
    from there exactly."""
    from tqdm.auto import tqdm

    loader = make_loader(
        ids, labels, cfg.batch_size, cfg.seed + {"stage0": 0, "stage1": 1, "stage2": 2}[stage], True
    )
    sampler = loader.batch_sampler
    steps_per_epoch = len(loader)
    total = max(1, int(steps_per_epoch * epochs))
    extra = (proj,) if stage != "stage2" else ()
    opt, sched = make_optimizer(student, lr, cfg.weight_decay, total, cfg.warmup_ratio, extra=extra)
    student, proj, opt, loader = acc.prepare(student, proj, opt, loader)
    both = torch.nn.ModuleDict({"student": acc.unwrap_model(student), "proj": acc.unwrap_model(proj)})
    st = {"stage": stage, "epoch": 0, "batches_done": 0, "step": 0, "seen": 0, "elapsed": 0.0, "run": 0.0}
    rng = None
    if resume and out is not None and (checkpoint.trainer_state(out) or {}).get("stage") == stage:
        st, rng = checkpoint.load(out, acc, both, opt, sched)
        total = sched.total
        jlog.write({"type": "resume", "stage": stage, "step": st["step"]})
    layer_map = cfg.layer_map
    t_logits_t = torch.from_numpy(t_logits) if t_logits is not None else None
    step, seen, run = st["step"], st["seen"], st["run"]
    t0 = time.time() - st["elapsed"]
    bar = tqdm(
        total=total,
        initial=step,
        desc=stage,
        unit="step",
        disable=not (progress and acc.is_local_main_process),
    )
    timer = Budget(budget, acc, sched)
    student.train()
    teacher.eval()
    for epoch in range(st["epoch"], math.ceil(epochs)):
        if step >= total:
            break
        sampler.set_epoch(epoch)
        skip = st["batches_done"] if epoch == st["epoch"] else 0
        batches = checkpoint.epoch_batches(acc, loader, epoch, skip, rng)
        rng = None
        for i, batch in enumerate(batches, start=skip):
            idx = batch.pop("index")
            y = batch.pop("labels", None)
            mask = batch["attention_mask"]
            if stage == "stage2":
                logits = student(**batch).logits
                loss = soft_cross_entropy(logits, t_logits_t[idx.cpu()].to(logits.device), cfg.temperature)
                if cfg.hard_label_weight > 0:
                    loss = (1 - cfg.hard_label_weight) * loss + cfg.hard_label_weight * F.cross_entropy(
                        logits.float(), y
                    )
                parts = {}
            else:
                with torch.no_grad(), capture_scores(teacher) as t_sc, acc.autocast():
                    t_out = teacher(**batch, output_hidden_states=True)
                    t_scores = [s.detach() for s in t_sc()]
                with capture_scores(acc.unwrap_model(student)) as s_sc:
                    s_out = student(**batch, output_hidden_states=True)
                    s_scores = s_sc()
                loss, parts = intermediate_loss(
                    cfg, s_out, t_out, s_scores, t_scores, mask, proj_fn(acc, proj), layer_map
                )
            acc.backward(loss)
            acc.clip_grad_norm_(list(student.parameters()) + list(proj.parameters()), cfg.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            total = timer(step, total)
            seen += len(idx) * acc.num_processes
            run = 0.98 * run + 0.02 * loss.item() if step > 1 else loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{run:.4f}", ex_s=f"{seen / (time.time() - t0):.0f}")
            if step % cfg.log_every == 0:
                parts = {k: float(v) for k, v in parts.items()}
                jlog.write(
                    {
                        "type": "train",
                        "stage": stage,
                        "step": step,
                        "loss": run,
                        **parts,
                        "lr": sched.get_last_lr()[0],
                        "examples_per_s": seen / (time.time() - t0),
                    }
                )
            if step % cfg.eval_every == 0 or step == total:
                if val_loader is not None:
                    ev = evaluate_loader(student, val_loader, acc)
                    rec = {
                        "type": "eval",
                        "stage": stage,
                        "step": step,
                        "epoch": step / steps_per_epoch,
                        "train_loss": run,
                        **ev,
                        "examples_per_s": seen / (time.time() - t0),
                        "elapsed_s": time.time() - t0,
                    }
                    jlog.write(rec)
                    if on_eval:
                        on_eval(rec, student)
                if out is not None:
                    done = i + 1 == steps_per_epoch
                    st.update(
                        epoch=epoch + done,
                        batches_done=0 if done else i + 1,
                        step=step,
                        seen=seen,
                        run=run,
                        elapsed=time.time() - t0,
                    )
                    checkpoint.save(out, acc, both, opt, sched, st)
            if step >= total:
                break
        if step >= total:
            break
    bar.close()
    return (
        acc.unwrap_model(student),
        acc.unwrap_model(proj),
        {"steps": step, "elapsed_s": time.time() - t0, "examples_per_s": seen / (time.time() - t0)},
    )


def _budget(cfg: DistillConfig, stage: int) -> float | None:
    return None if cfg.stage_budgets is None else cfg.stage_budgets[stage]


def proj_fn(acc, proj):
    p = acc.unwrap_model(proj)
    return lambda i, x: p(i, x)


def distill(cfg: DistillConfig, corpus: D.Corpus | None = None, progress: bool = True) -> dict:
    """Run stages 0–2 and save the best student (by validation accuracy in stage 2)."""
    from accelerate.utils import set_seed
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .models import count_parameters, load_classifier

    acc = make_accelerator(cfg.mixed_precision, find_unused=True)  # stage 1 leaves the head unused
    set_seed(cfg.seed)
    out = Path(cfg.out)
    teacher_dir = Path(cfg.teacher)
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(teacher_dir)
    t_meta = ModelMeta.load(teacher_dir)
    teacher.to(acc.device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    tcfg = TrainConfig(
        data=cfg.data,
        max_train=cfg.max_train,
        val_fraction=cfg.val_fraction,
        max_val=cfg.max_val,
        dedupe=cfg.dedupe,
        seed=cfg.seed,
        max_length=t_meta.max_length,
    )
    from .normalize import Normalizer

    normalizer = Normalizer(t_meta.normalizer_config)
    prep = prepare_data(tcfg, tokenizer, normalizer, corpus)
    ids, labels = prep.train_ids, prep.train_labels
    if isinstance(cfg.student, str) and cfg.student.startswith("prune:"):
        pick = np.random.default_rng(cfg.seed).permutation(len(ids))[: cfg.prune_calibration]
        calib = [ids[i] for i in sorted(pick)]
        student, cfg.layer_map = pruned_student(cfg.student, teacher, calib, cfg.layer_map)
        log.info("pruned the teacher to %s, keeping layers %s", cfg.student[6:], cfg.layer_map)
    else:
        student = make_student(cfg.student, teacher, cfg.seed)
    n_s, n_t = student.config.num_hidden_layers, teacher.config.num_hidden_layers
    cfg.layer_map = cfg.layer_map or uniform_layer_map(n_s, n_t)
    if len(cfg.layer_map) != n_s or any(not 1 <= g <= n_t for g in cfg.layer_map):
        raise ValueError(
            f"layer map {cfg.layer_map} must give one teacher layer in 1..{n_t} per student layer"
        )
    if student.config.num_attention_heads != teacher.config.num_attention_heads:
        raise ValueError("attention distillation needs the same number of heads in student and teacher")
    cfg.sizes = {"student_params": count_parameters(student), "teacher_params": count_parameters(teacher)}
    if cfg.unlabelled:
        from .batching import encode

        extra = [t for t in Path(cfg.unlabelled).read_text(encoding="utf-8").splitlines() if t.strip()]
        ids = ids + encode(normalizer.many(extra), tokenizer, prep.max_length)
        labels = np.concatenate([labels, np.full(len(extra), -100)])
    val_loader = acc.prepare(make_loader(prep.val_ids, prep.val_labels, cfg.batch_size * 4, 0, False))
    ck = (checkpoint.trainer_state(out) or {}).get("stage") if cfg.resume else None
    order = {"stage0": 0, "stage1": 1, "stage2": 2}

    def wanted(stage: str, epochs: float) -> bool:
        """Run this stage: it has epochs and an interrupted run did not get past it."""
        return epochs > 0 and (ck is None or order[stage] >= order[ck])

    jlog = JsonlLog(out / "train_log.jsonl", acc.is_main_process, append=ck is not None)
    jlog.write({"type": "start", "config": asdict(cfg), **prep.stats, "transfer_rows": len(ids)})
    proj = Projections(n_s + 1, student.config.hidden_size, teacher.config.hidden_size)
    stages = {}

    if wanted("stage0", cfg.stage0_epochs):
        general, _, _, _ = load_classifier(cfg.general_teacher)
        general.to(acc.device).eval()
        g_proj = Projections(n_s + 1, student.config.hidden_size, general.config.hidden_size)
        g_map = uniform_layer_map(n_s, general.config.num_hidden_layers)
        c0 = copy.copy(cfg)
        c0.layer_map = g_map
        student, _, stages["stage0"] = _run_stage(
            "stage0",
            c0,
            acc,
            student,
            general,
            g_proj,
            ids,
            labels,
            None,
            None,
            cfg.stage0_epochs,
            cfg.stage0_lr,
            jlog,
            progress=progress,
            budget=_budget(cfg, 0),
            out=out,
            resume=ck == "stage0",
        )
        del general
    if wanted("stage1", cfg.stage1_epochs):
        student, proj, stages["stage1"] = _run_stage(
            "stage1",
            cfg,
            acc,
            student,
            teacher,
            proj,
            ids,
            labels,
            None,
            val_loader,
            cfg.stage1_epochs,
            cfg.stage1_lr,
            jlog,
            progress=progress,
            budget=_budget(cfg, 1),
            out=out,
            resume=ck == "stage1",
        )
    meta = ModelMeta(
        normalizer=t_meta.normalizer,
        max_length=prep.max_length,
        base_model=cfg.student,
        method="distill",
        data_sha256=prep.data_sha256,
        train_rows=len(ids),
        git_commit=git_commit(),
        config={**asdict(cfg), "teacher_meta": {"base_model": t_meta.base_model, "metrics": t_meta.metrics}},
    )
    best = {"val_accuracy": -1.0}

    def keep_best(rec, model):
        nonlocal best
        if rec["val_accuracy"] > best["val_accuracy"]:
            best = {k: rec[k] for k in ("val_accuracy", "val_loss", "val_n", "step", "stage")}
            meta.metrics = {"validation": best}
            save_model(model, tokenizer, out, meta, acc)

    if ck is not None and (out / "tinysent.json").exists():  # the best student saved before the stop
        best = ModelMeta.load(out).metrics.get("validation", best)
    if wanted("stage2", cfg.stage2_epochs):
        t_logits = cached_teacher_logits(teacher, teacher_dir, ids, cfg.batch_size, acc, out)
        student, proj, stages["stage2"] = _run_stage(
            "stage2",
            cfg,
            acc,
            student,
            teacher,
            proj,
            ids,
            labels,
            t_logits,
            val_loader,
            cfg.stage2_epochs,
            cfg.stage2_lr,
            jlog,
            on_eval=keep_best,
            progress=progress,
            budget=_budget(cfg, 2),
            out=out,
            resume=ck == "stage2",
        )
    else:
        ev = evaluate_loader(student, val_loader, acc)
        keep_best({**ev, "step": stages.get("stage1", {}).get("steps", 0), "stage": "stage1"}, student)
    summary = {
        "stages": stages,
        "best": best,
        "sizes": cfg.sizes,
        "layer_map": cfg.layer_map,
        "data": prep.stats,
    }
    jlog.write({"type": "end", **summary})
    return summary
