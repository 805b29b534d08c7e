"""Fine-tuning: parse → seed → load data → tokenise → train → evaluate → save, in that order.

Runs unchanged on one CPU, one GPU or many processes under ``accelerate launch`` / ``torchrun``:
Accelerate places the model, shards the batches and gathers evaluation outputs; logging, the
progress bar and saving happen on the main process only.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import data as D
from .batching import BatchList, TokenDataset, TokenStore, choose_max_length, collate, encode
from .config import ModelMeta, TrainConfig, git_commit
from .normalize import Normalizer, NormalizerConfig

log = logging.getLogger(__name__)
LOG_FILE = "train_log.jsonl"


@dataclass
class Prepared:
    """Tokenised train and validation sets, and what went into them."""

    train_ids: list[list[int]]
    train_labels: np.ndarray
    val_ids: list[list[int]]
    val_labels: np.ndarray
    max_length: int
    coverage: float
    data_sha256: str | None
    stats: dict


def prepare_data(
    cfg: TrainConfig, tokenizer, normalizer: Normalizer, corpus: D.Corpus | None = None
) -> Prepared:
    """Read, deduplicate, split (stratified, by seed), subsample, normalise and tokenise.

    With a data file (not an in-memory corpus) and ``cfg.token_cache``, the whole corpus is tokenised
    once into a memory-mapped store in the user cache and later runs only slice it.
    """
    sha = None
    if corpus is None:
        file, member = D.resolve(cfg.data, "train")
        corpus = D.read(file, member=member)
        sha = D.file_sha256(file) + (f"::{member}" if member else "")
    corpus = corpus.binary()
    stats = {"rows_read": len(corpus), "malformed": len(corpus.problems)}
    if cfg.dedupe:
        corpus = D.deduplicate(corpus, drop_duplicates=True, drop_conflicts=True)
        stats["rows_after_dedupe"] = len(corpus)
    tr, va = D.stratified_split(corpus.polarity, cfg.val_fraction, cfg.seed)
    if cfg.max_train:
        tr = tr[D.stratified_sample(corpus.polarity[tr], cfg.max_train, cfg.seed)]
    if cfg.max_val:
        va = va[D.stratified_sample(corpus.polarity[va], cfg.max_val, cfg.seed)]
    labels = corpus.classes
    if sha is not None and cfg.token_cache:
        key = TokenStore.key(sha, f"binary,dedupe={cfg.dedupe}", tokenizer, normalizer.config.to_dict(), 256)
        t0 = time.time()
        store = TokenStore.get_or_build(
            D.cache_dir() / "tokens", key, lambda: normalizer.many(corpus.texts), tokenizer
        )
        stats["token_store"] = {"key": key, "rows": len(store), "open_or_build_s": round(time.time() - t0, 2)}
        max_length, coverage = cfg.max_length, None
        if max_length is None:
            max_length, coverage = choose_max_length(store.lengths(tr[:20000]))
        if coverage is None:
            coverage = float((store.lengths(tr[:20000]) <= max_length).mean())
        train_ids, val_ids = store.rows(tr, max_length), store.rows(va, max_length)
    else:
        train_texts = normalizer.many([corpus.texts[i] for i in tr])
        val_texts = normalizer.many([corpus.texts[i] for i in va])
        probe = encode(train_texts[:20000], tokenizer, None)
        lengths = np.array([len(x) for x in probe])
        max_length = cfg.max_length or choose_max_length(lengths)[0]
        coverage = float((lengths <= max_length).mean())
        train_ids = encode(train_texts, tokenizer, max_length)
        val_ids = encode(val_texts, tokenizer, max_length)
    stats.update(train_rows=len(tr), val_rows=len(va), max_length=max_length, coverage=round(coverage, 5))
    return Prepared(train_ids, labels[tr], val_ids, labels[va], max_length, coverage, sha, stats)


def make_accelerator(mixed_precision: str = "auto", grad_accum: int = 1, find_unused: bool = False):
    from accelerate import Accelerator

    if mixed_precision == "auto":
        mixed_precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    from accelerate.utils import DataLoaderConfiguration, DistributedDataParallelKwargs

    # split_batches: --batch-size is the global batch, shared out across processes.
    on_cpu = not torch.cuda.is_available()  # Accelerate runs several CPU processes (gloo) only with cpu=True
    return Accelerator(
        cpu=on_cpu,
        mixed_precision=mixed_precision,
        gradient_accumulation_steps=grad_accum,
        dataloader_config=DataLoaderConfiguration(split_batches=True),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
    )


def make_loader(ids, labels, batch_size: int, seed: int, shuffle: bool, num_workers: int = 0):
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    ds = TokenDataset(ids, labels)
    sampler = BatchList(lengths, batch_size, seed, shuffle)
    return torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=num_workers)


class LinearSchedule(torch.optim.lr_scheduler.LambdaLR):
    """Warmup then linear decay to 0 at ``total``; ``shrink`` moves the end when a time budget binds."""

    def __init__(self, opt, total: int, warmup_ratio: float):
        self.total, self.warmup = total, max(1, int(total * warmup_ratio))
        super().__init__(opt, self._factor)

    def _factor(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        return max(0.0, (self.total - step) / max(1, self.total - self.warmup))

    def shrink(self, total: int) -> None:
        self.total = max(min(total, self.total), self.warmup + 1)

    def state_dict(self) -> dict:
        return {
            "last_epoch": self.last_epoch,
            "total": self.total,
            "warmup": self.warmup,
            "base_lrs": self.base_lrs,
            "_last_lr": self._last_lr,
            "_step_count": self._step_count,
        }

    def load_state_dict(self, state: dict) -> None:
        self.__dict__.update(state)


def make_optimizer(model, lr: float, weight_decay: float, total_steps: int, warmup_ratio: float, extra=()):
    """AdamW without decay on biases and LayerNorm; warmup then linear decay to 0 at the real last step.

    The original notebook's schedule reached zero after 20 % of training; here ``total_steps`` is
    computed from the data, the batch size, accumulation and the number of processes.
    """
    decay, no_decay = [], []
    for m in (model, *extra):
        for _, p in m.named_parameters():
            if p.requires_grad:
                (no_decay if p.ndim < 2 else decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    return opt, LinearSchedule(opt, total_steps, warmup_ratio)


class Budget:
    """Cuts a run's step count so it ends within ``seconds``, the LR schedule decaying to 0 there.

    Steps 10 to 50 are timed (the first ones pay for warm-up); every process takes the smallest
    estimate, so all stop at the same step.
    """

    def __init__(self, seconds: float | None, accelerator, sched: LinearSchedule):
        self.seconds, self.acc, self.sched = seconds, accelerator, sched
        self.t_start = time.time()
        self.t10 = None

    def __call__(self, step: int, total: int) -> int:
        if self.seconds is None or step > 50:
            return total
        if step == 10:
            self.t10 = time.time()
        if step != 50 or self.t10 is None:
            return total
        now = time.time()
        per_step = (now - self.t10) / 40
        fits = torch.tensor(
            [50 + int((self.seconds - (now - self.t_start)) / per_step)], device=self.acc.device
        )
        fits = int(self.acc.gather(fits).min().item())
        if fits < total:
            log.warning(
                "time budget %.0f s: %d of %d steps fit; the schedule now ends there",
                self.seconds,
                fits,
                total,
            )
            self.sched.shrink(fits)
            return max(fits, self.sched.warmup + 1, 51)
        return total


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


class JsonlLog:
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


def save_model(model, tokenizer, out: Path, meta: ModelMeta, accelerator) -> None:
    """Weights (safetensors), tokenizer and tinysent.json; loadable by transformers.pipeline too."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        accelerator.unwrap_model(model).save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
        meta.save(out)


def train(cfg: TrainConfig, corpus: D.Corpus | None = None, progress: bool = True) -> dict:
    """Fine-tune ``cfg.base`` on Sentiment140 and save the best checkpoint (by validation accuracy).

    ``cfg.batch_size`` is the global batch: under N processes each takes 1/N of every batch, so the
    same command gives the same optimisation on 1 CPU or 8 GPUs. With ``cfg.resume`` a run continues
    from ``out/checkpoint`` (written at every evaluation) exactly where it stopped.
    """
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    from . import checkpoint
    from .models import load_classifier

    acc = make_accelerator(cfg.mixed_precision, cfg.grad_accum)
    set_seed(cfg.seed)
    out = Path(cfg.out)
    model, tokenizer, base_dir, load_info = load_classifier(cfg.base)
    norm_cfg = NormalizerConfig()
    prep = prepare_data(cfg, tokenizer, Normalizer(norm_cfg), corpus)
    if acc.is_main_process:
        log.info("data: %s", prep.stats)

    train_loader = make_loader(
        prep.train_ids, prep.train_labels, cfg.batch_size, cfg.seed, True, cfg.num_workers
    )
    train_sampler = train_loader.batch_sampler
    val_loader = make_loader(prep.val_ids, prep.val_labels, cfg.batch_size * 4, cfg.seed, False)
    steps_per_epoch = math.ceil(len(train_loader) / cfg.grad_accum)
    total_steps = max(1, int(steps_per_epoch * cfg.epochs))
    opt, sched = make_optimizer(model, cfg.lr, cfg.weight_decay, total_steps, cfg.warmup_ratio)
    # The scheduler stays unprepared: it steps once per optimizer step, whatever the process count.
    model, opt, train_loader, val_loader = acc.prepare(model, opt, train_loader, val_loader)

    meta = ModelMeta(
        normalizer=norm_cfg.to_dict(),
        max_length=prep.max_length,
        base_model=str(cfg.base),
        data_sha256=prep.data_sha256,
        train_rows=len(prep.train_ids),
        git_commit=git_commit(),
        config=asdict(cfg),
    )
    resuming = cfg.resume and checkpoint.exists(out)
    st = {
        "epoch": 0,
        "batches_done": 0,
        "step": 0,
        "seen": 0,
        "elapsed": 0.0,
        "bad_evals": 0,
        "best": {"val_accuracy": -1.0},
    }
    rng = None
    if resuming:
        st, rng = checkpoint.load(out, acc, model, opt, sched)
        total_steps = sched.total
        meta.metrics = {"validation": st["best"]}
    jlog = JsonlLog(out / LOG_FILE, acc.is_main_process, append=resuming)
    jlog.write(
        {
            "type": "resume" if resuming else "start",
            "total_steps": total_steps,
            "processes": acc.num_processes,
            "step": st["step"],
            **prep.stats,
        }
    )
    step, t0 = st["step"], time.time() - st["elapsed"]
    run_loss, run_n = torch.zeros((), device=acc.device), 0
    bar = tqdm(
        total=total_steps,
        initial=step,
        disable=not (progress and acc.is_local_main_process),
        desc="train",
        unit="step",
    )
    budget = Budget(cfg.time_budget, acc, sched)
    model.train()
    stop = step >= total_steps
    for epoch in range(st["epoch"], math.ceil(cfg.epochs)):
        if stop:
            break
        train_sampler.set_epoch(epoch)  # new length-grouped batch order each epoch
        skip = st["batches_done"] if epoch == st["epoch"] else 0
        batches = checkpoint.epoch_batches(acc, train_loader, epoch, skip, rng)
        rng = None
        for i, batch in enumerate(batches, start=skip):
            batch.pop("index")
            with acc.accumulate(model):
                loss = model(**batch).loss
                acc.backward(loss)
                if acc.sync_gradients:
                    acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                opt.step()
                if acc.sync_gradients:
                    sched.step()
                opt.zero_grad()
            run_loss += loss.detach()  # no per-step host sync
            run_n += 1
            st["seen"] += len(batch["labels"]) * acc.num_processes
            if not acc.sync_gradients:
                continue
            step += 1
            total_steps = budget(step, total_steps)
            rate = st["seen"] / max(time.time() - t0, 1e-9)
            bar.update(1)
            logging_step = step % cfg.log_every == 0
            eval_step = step % cfg.eval_every == 0 or step == total_steps
            if logging_step or eval_step:
                mean_loss = acc.reduce(run_loss, "mean").item() / max(run_n, 1)
                bar.set_postfix(loss=f"{mean_loss:.4f}", ex_s=f"{rate:.0f}")
            if logging_step:
                jlog.write(
                    {
                        "type": "train",
                        "step": step,
                        "loss": mean_loss,
                        "lr": sched.get_last_lr()[0],
                        "examples_per_s": rate,
                    }
                )
            if eval_step:
                ev = evaluate_loader(model, val_loader, acc)
                rec = {
                    "type": "eval",
                    "step": step,
                    "epoch": step / steps_per_epoch,
                    "train_loss": mean_loss,
                    **ev,
                    "examples_per_s": rate,
                    "elapsed_s": time.time() - t0,
                }
                run_loss.zero_()
                run_n = 0
                jlog.write(rec)
                if ev["val_accuracy"] > st["best"]["val_accuracy"]:
                    st["best"] = {**ev, "step": step}
                    meta.metrics = {"validation": st["best"]}
                    save_model(model, tokenizer, out, meta, acc)
                    st["bad_evals"] = 0
                else:
                    st["bad_evals"] += 1
                    if cfg.patience is not None and st["bad_evals"] >= cfg.patience:
                        log.info(
                            "early stop at step %d: no better validation accuracy in %d evaluations",
                            step,
                            st["bad_evals"],
                        )
                        stop = True
                st.update(epoch=epoch, batches_done=i + 1, step=step, elapsed=time.time() - t0)
                if i + 1 == len(train_loader):
                    st.update(epoch=epoch + 1, batches_done=0)
                checkpoint.save(out, acc, model, opt, sched, st)
            if step >= total_steps or stop:
                stop = True
                break
    bar.close()
    elapsed = time.time() - t0
    summary = {
        "steps": step,
        "total_steps": total_steps,
        "best": st["best"],
        "elapsed_s": elapsed,
        "examples_per_s": st["seen"] / max(elapsed, 1e-9),
        "data": prep.stats,
        "loading": {"ignored": load_info["ignored"][:50], "initialised": load_info["initialised"]},
    }
    jlog.write({"type": "end", **{k: v for k, v in summary.items() if k != "loading"}})
    return summary
