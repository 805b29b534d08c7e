"""The one training loop. Fine-tuning and every distillation stage run through :func:`fit`; what
differs between them is the :class:`Objective`, a loss over the same batches.

The loop owns what they share: length-grouped batches, AdamW with warmup and linear decay over the
real step count, gradient accumulation, clipping, an optional time budget, logging without a
per-step host sync, evaluation, best-model selection with patience, and a pickle-free checkpoint at
every evaluation from which ``resume`` continues exactly (data position and RNG included).

Runs unchanged on one CPU, one GPU or many processes under ``accelerate launch`` / ``torchrun``:
Accelerate places the model, shards the batches and gathers evaluation outputs; logging, the
progress bar and saving happen on the main process only.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from tinysent.core.folder import pinned_names
from tinysent.train import checkpoint
from tinysent.train.batching import make_loader
from tinysent.train.schedule import Budget, LinearSchedule, make_optimizer  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)
LOG_FILE = "train_log.jsonl"


@dataclass(frozen=True)
class LoopConfig:
    """One stage's loop: the run's shared settings (``settings``, a
    :class:`~tinysent.data.config.LoopSettings`: batch, accumulation, weight decay, warmup, clipping,
    evaluation and log cadence), composed, not copied (``loop.batch_size`` reads the run's), plus what
    a stage sets for itself: its epochs, learning rate, batch-order seed, time budget, patience, the
    step floor and the metric that selects its best checkpoint."""

    settings: object
    epochs: float
    lr: float
    seed: int = 0
    time_budget: float | None = None
    patience: int | None = None
    num_workers: int = 0
    min_steps: int = 0  # at least this many optimizer steps: small data runs more epochs
    # the validation metric that picks the best checkpoint (higher is better): a labelled task's or
    # the mix's evaluator reports val_score, a Sentiment140 run's loop val_accuracy
    select: str = "val_accuracy"

    def __getattr__(self, name: str):
        if name == "settings":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.settings, name)

    @classmethod
    def take(cls, cfg, **overrides) -> LoopConfig:
        """The loop of a ``TrainConfig`` or one stage of a ``DistillConfig``: the config itself as the
        shared settings, the stage's own fields where the config has them, its selection metric and
        its step floor (``steps_floor``), then ``overrides``."""
        own = {f.name for f in fields(cls)} - {"settings", "select", "min_steps"}
        picked = {k: getattr(cfg, k) for k in own if hasattr(cfg, k)}
        fixed = {"select": cfg.selection_metric, "min_steps": cfg.steps_floor}
        return cls(settings=cfg, **{**picked, **fixed, **overrides})


class Objective:
    """A loss over one batch (``input_ids``, ``attention_mask``, ``index``, maybe ``labels``).

    ``modules`` are extra trainable parts (e.g. distillation's projections): the loop prepares them with
    Accelerate, puts them in the optimizer, clips and checkpoints them with the model, and replaces
    each entry by its prepared version before the first batch.
    """

    name = "objective"

    def __init__(self) -> None:
        self.modules: dict[str, torch.nn.Module] = {}

    def __call__(self, model, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(loss, named parts to log: detached scalars)."""
        raise NotImplementedError


class CrossEntropy(Objective):
    """Cross-entropy against the true labels: plain fine-tuning (transformers' own classification loss)."""

    name = "cross-entropy"

    def __call__(self, model, batch):
        inputs = {k: v for k, v in batch.items() if k != "index"}
        return model(**inputs).loss, {}


@torch.no_grad()
def evaluate_loader(model, loader, accelerator) -> dict:
    """Loss and accuracy over every example exactly once, across processes."""
    model.eval()
    logits_all, labels_all = [], []
    for batch in loader:
        batch = {k: v for k, v in batch.items() if k != "index"}
        labels = batch.pop("labels")
        logits = model(**batch).logits.float()
        logits, labels = accelerator.gather_for_metrics((logits, labels))
        logits_all.append(logits.cpu())
        labels_all.append(labels.cpu())
    model.train()
    logits = torch.cat(logits_all)
    labels = torch.cat(labels_all)
    loss = torch.nn.functional.cross_entropy(logits, labels).item()
    acc = (logits.argmax(-1) == labels).float().mean().item()
    return {"val_loss": loss, "val_accuracy": acc, "val_n": int(len(labels))}


@torch.no_grad()
def model_logits(
    model,
    ids: list[list[int]],
    batch_size: int = 256,
    autocast=contextlib.nullcontext,
    progress: bool = False,
) -> np.ndarray:
    """Logits of an in-memory model for every row of ``ids``, in input order (length-sorted calls)."""
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    out = np.zeros((len(ids), model.config.num_labels), dtype=np.float32)
    model.eval()
    loader = make_loader(ids, None, batch_size, 0, False)
    for batch in tqdm(loader, desc="logits", unit="batch", disable=not progress):
        with autocast():
            lg = model(
                input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)
            ).logits
        out[batch["index"].numpy()] = lg.float().cpu().numpy()
    return out


class JsonlLog:
    """``train_log.jsonl``: one JSON record per line (start, train, eval, resume, end), main process only."""

    def __init__(self, path: Path, enabled: bool, append: bool = False):
        self.path, self.enabled = path, enabled
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not append:
                path.write_text("")

    def write(self, record: dict) -> None:
        if self.enabled:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")

    @classmethod
    def for_stage(cls, out: Path, stage: str, resume: bool, enabled: bool, start: dict) -> JsonlLog:
        """The log of a one-stage run into ``out``: continued when ``resume`` finds a checkpoint of
        ``stage`` there, else begun anew with the ``start`` record."""
        resuming = resume and (checkpoint.trainer_state(out) or {}).get("stage") == stage
        log = cls(out / LOG_FILE, enabled, append=resuming)
        if not resuming:
            log.write({"type": "start", **start})
        return log


def save_model(model, tokenizer, out: Path, meta, accelerator) -> None:
    """Weights (safetensors), tokenizer and tinysent.json; loadable by transformers.pipeline too."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        from tinysent.train.models import quiet_transformers

        with quiet_transformers():  # no "Writing model shards" bar in the training log
            accelerator.unwrap_model(model).save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
        meta.pin(out, pinned_names(out, ["model.safetensors"]))
        meta.save(out)


def epoch_batches(accelerator, loader, epoch: int, skip: int = 0, rng_states: tuple | None = None):
    """One epoch of a prepared loader from batch ``skip`` on. With ``rng_states`` (a resume) the RNG
    is restored after the first batch: starting a DataLoader iterator draws from torch's RNG."""
    it = accelerator.skip_first_batches(loader, skip) if skip else loader
    it.set_epoch(epoch)  # Accelerate's loaders re-apply their own epoch counter on each pass
    batches = iter(it)
    if rng_states is None:
        return batches
    first = next(batches, None)
    checkpoint.restore_rng(rng_states)
    return itertools.chain([first] if first is not None else [], batches)


def fit(
    model,
    objective: Objective,
    ids: list,
    labels,
    cfg: LoopConfig,
    acc,
    *,
    stage: str = "train",
    out: Path | None = None,
    jlog: JsonlLog | None = None,
    val_loader=None,
    evaluator: Callable[[object], dict] | None = None,
    on_best: Callable[[object, dict], None] | None = None,
    resume: bool = False,
    progress: bool = True,
) -> dict:
    """Train ``model`` on ``objective`` over ``ids`` (labels may be None) for ``cfg.epochs``.

    At every evaluation (every ``cfg.eval_every`` steps and at the last one) the validation loss and
    accuracy are logged; ``evaluator(model)``, when given, computes them instead of ``val_loader``
    (selection compares ``cfg.select``, default ``val_accuracy``). When ``on_best`` is given and that
    metric beats the best so far, ``on_best(model, best)`` saves the model, and ``cfg.patience``
    evaluations without improvement stop the run. With ``out``, the state (model, objective modules,
    optimizer, schedule, data position, RNG, best) goes to ``out/checkpoint`` at every evaluation; with
    ``resume`` a checkpoint of the same ``stage`` continues exactly where it stopped. Returns the
    stage's summary (the prepared, unwrapped model is ``summary["model"]``).
    """
    from tqdm.auto import tqdm

    jlog = jlog or JsonlLog(Path("."), False)
    loader = make_loader(ids, labels, cfg.batch_size, cfg.seed, True, cfg.num_workers)
    sampler = loader.batch_sampler
    steps_per_epoch = max(1, math.ceil(len(loader) / cfg.grad_accum))
    total = max(1, int(steps_per_epoch * cfg.epochs), cfg.min_steps)
    names = list(objective.modules)
    opt, sched = make_optimizer(
        [model, *objective.modules.values()], cfg.lr, cfg.weight_decay, total, cfg.warmup_ratio
    )
    # The scheduler stays unprepared: it steps once per optimizer step, whatever the process count.
    model, *mods, opt, loader = acc.prepare(model, *objective.modules.values(), opt, loader)
    objective.modules = dict(zip(names, mods))
    trainable = torch.nn.ModuleDict(
        {"model": acc.unwrap_model(model), **{k: acc.unwrap_model(m) for k, m in objective.modules.items()}}
    )
    params = [p for p in trainable.parameters() if p.requires_grad]
    st = {
        "stage": stage,
        "epoch": 0,
        "batches_done": 0,
        "step": 0,
        "seen": 0,
        "elapsed": 0.0,
        "bad_evals": 0,
        "best": {},
    }
    rng = None
    if resume and out is not None and (checkpoint.trainer_state(out) or {}).get("stage") == stage:
        st, rng = checkpoint.load(out, acc, trainable, opt, sched)
        total = sched.total
        jlog.write({"type": "resume", "stage": stage, "step": st["step"]})
    step, t0 = st["step"], time.time() - st["elapsed"]
    run_loss, run_n, run_parts = torch.zeros((), device=acc.device), 0, {}
    bar = tqdm(
        total=total,
        initial=step,
        desc=stage,
        unit="step",
        disable=not (progress and acc.is_local_main_process),
    )
    budget = Budget(cfg.time_budget, acc, sched, cfg.eval_every, step, st["elapsed"])
    stopped_early = False
    model.train()
    stop = step >= total
    for epoch in range(st["epoch"], math.ceil(total / steps_per_epoch)):
        if stop:
            break
        sampler.set_epoch(epoch)  # new length-grouped batch order each epoch
        skip = st["batches_done"] if epoch == st["epoch"] else 0
        batches = epoch_batches(acc, loader, epoch, skip, rng)
        rng = None
        for i, batch in enumerate(batches, start=skip):
            with acc.accumulate(model, *objective.modules.values()):
                loss, parts = objective(model, batch)
                acc.backward(loss)
                if acc.sync_gradients:
                    acc.clip_grad_norm_(params, cfg.max_grad_norm)
                opt.step()
                if acc.sync_gradients:
                    sched.step()
                opt.zero_grad()
            run_loss += loss.detach()  # no per-step host sync
            for k, v in parts.items():
                run_parts[k] = run_parts.get(k, 0) + v.detach()
            run_n += 1
            st["seen"] += len(batch["index"]) * acc.num_processes
            if not acc.sync_gradients:
                continue
            step += 1
            total = budget(step, total)
            bar.total = total
            rate = st["seen"] / max(time.time() - t0, 1e-9)
            bar.update(1)
            logging_step = step % cfg.log_every == 0
            eval_step = step % cfg.eval_every == 0 or step == total
            if logging_step or eval_step:
                mean_loss = acc.reduce(run_loss, "mean").item() / max(run_n, 1)
                bar.set_postfix(loss=f"{mean_loss:.4f}", ex_s=f"{rate:.0f}")
            if logging_step:
                jlog.write(
                    {
                        "type": "train",
                        "stage": stage,
                        "step": step,
                        "loss": mean_loss,
                        **{k: acc.reduce(v, "mean").item() / max(run_n, 1) for k, v in run_parts.items()},
                        "lr": sched.get_last_lr()[0],
                        "examples_per_s": rate,
                    }
                )
            if eval_step:
                if val_loader is not None or evaluator is not None:
                    t_eval = time.time()
                    ev = evaluator(model) if evaluator else evaluate_loader(model, val_loader, acc)
                    budget.evaluated(time.time() - t_eval)
                    total = bar.total = budget(step, total, evaluated=True)
                    jlog.write(
                        {
                            "type": "eval",
                            "stage": stage,
                            "step": step,
                            "epoch": step / steps_per_epoch,
                            "train_loss": mean_loss,
                            **ev,
                            "examples_per_s": rate,
                            "elapsed_s": time.time() - t0,
                        }
                    )
                    if on_best is not None:
                        if cfg.select not in ev:
                            raise KeyError(
                                f"the evaluator reports no {cfg.select!r} to select on: {sorted(ev)}"
                            )
                        if ev[cfg.select] > st["best"].get(cfg.select, -math.inf):
                            st["best"] = {
                                **ev,
                                "step": step,
                                "stage": stage,
                                "metric": cfg.select,
                                "seen": st["seen"],
                                "train_s": round(time.time() - t0, 1),
                            }
                            st["bad_evals"] = 0
                            on_best(model, st["best"])
                        else:
                            st["bad_evals"] += 1
                            if cfg.patience is not None and st["bad_evals"] >= cfg.patience:
                                log.info(
                                    "early stop at step %d: no better %s in %d evaluations",
                                    step,
                                    cfg.select,
                                    st["bad_evals"],
                                )
                                stop = stopped_early = True
                run_loss.zero_()
                run_n, run_parts = 0, {}
                if out is not None:
                    done = i + 1 == len(loader)
                    st.update(
                        epoch=epoch + done,
                        batches_done=0 if done else i + 1,
                        step=step,
                        elapsed=time.time() - t0,
                    )
                    checkpoint.save(out, acc, trainable, opt, sched, st)
            if step >= total or stop:
                stop = True
                break
    bar.close()
    elapsed = time.time() - t0
    return {
        "model": acc.unwrap_model(model),
        "steps": step,
        "total_steps": total,
        "best": st["best"],
        "stopped_early": stopped_early,
        "elapsed_s": elapsed,
        "seen": st["seen"],
        "examples_per_s": st["seen"] / max(elapsed, 1e-9),
    }
