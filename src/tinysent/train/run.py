"""The one run skeleton every training command shares: seed → accelerator → pinned config (its
inputs' sha256, so a resume on other data is refused) → [the command prepares its data, model and
objective] → the best checkpoint saved with its metadata whenever validation improves → the JSONL
log → :func:`~tinysent.train.loop.fit` → the summary. Fine-tuning and each kind of distillation
supply only what differs (as SetFit's ``DistillationTrainer`` overrides only what differs from its
trainer): the rows, the model, the objective, the evaluator and, for a two-label task, a hook that
sets the threshold before the checkpoint is saved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from tinysent.train import checkpoint
from tinysent.train.accelerator import make_accelerator, resolve_precision
from tinysent.train.loop import JsonlLog, fit, save_model


@dataclass
class Run:
    """A started run: its accelerator and output folder (:func:`start`)."""

    cfg: object
    acc: object
    out: Path
    progress: bool = True

    def saver(self, tokenizer, meta, before_save: Callable | None = None) -> Callable:
        """The best-checkpoint hook: ``before_save(best)`` may add to the validation record (a
        threshold), then the metadata takes it and the model is saved with it."""

        def on_best(model, best: dict) -> None:
            if before_save is not None:
                best = before_save(best)
            meta.metrics = {"validation": best}
            meta.training = self.made(best)
            save_model(model, tokenizer, self.out, meta, self.acc)

        return on_best

    def meta(
        self, prep, *, base_model, normalizer: dict, rows: int, labels=None, method="fine-tune", **extra
    ):
        """The trained model's :class:`ModelMeta`, built here for every kind of run: its data (hash,
        max length, rows), its base, how it was made (``method``), the commit and the run's config
        (with ``extra``, e.g. the teacher's metadata); ``labels`` default to negative / positive."""
        from tinysent.core.meta import ModelMeta
        from tinysent.data.config import git_commit

        meta = ModelMeta(
            normalizer=normalizer,
            max_length=prep.max_length,
            base_model=str(base_model),
            method=method,
            data_sha256=prep.data_sha256,
            train_rows=rows,
            git_commit=git_commit(),
            config={**asdict(self.cfg), **extra},
        )
        if labels is not None:
            meta.labels = list(labels)
        return meta

    def made(self, best: dict) -> dict:
        """How the weights saved at ``best`` were made (``ModelMeta.training``)."""
        import datetime

        from tinysent.core.machine import machine

        return {
            "tweets_seen": best.get("seen"),
            "steps": best.get("step"),
            "train_s": best.get("train_s"),
            "precision": self.acc.mixed_precision,
            "processes": self.acc.num_processes,
            **machine(),
            "date": datetime.date.today().isoformat(),
        }

    def fit_stage(
        self,
        model,
        objective,
        ids,
        labels,
        *,
        stage: str,
        loop,
        start: dict,
        on_best: Callable,
        evaluator=None,
        val_loader=None,
    ) -> tuple[dict, JsonlLog]:
        """One stage through the loop, logged to the run's ``train_log.jsonl`` (continued on a resume
        of this stage); returns the loop's result (without the model) and the log."""
        jlog = JsonlLog.for_stage(self.out, stage, self.cfg.resume, self.acc.is_main_process, start)
        res = fit(
            model,
            objective,
            ids,
            labels,
            loop,
            self.acc,
            stage=stage,
            out=self.out,
            jlog=jlog,
            val_loader=val_loader,
            evaluator=evaluator,
            on_best=on_best,
            resume=self.cfg.resume,
            progress=self.progress,
        )
        res.pop("model")
        return res, jlog


def start(cfg, progress: bool = True, find_unused: bool = False) -> Run:
    """The task resolved once (said on stderr, and stored: the config saved with the run and its
    model names it), then seed, accelerator and the pinned config in ``cfg.out``: the first lines of
    every run."""
    import sys

    from accelerate.utils import set_seed

    from tinysent.data.task_kind import describe_task

    cfg.task = cfg.task_kind  # "auto" becomes what it was decided to be
    cfg.mixed_precision = resolve_precision(cfg.mixed_precision)  # recorded as decided (tinysent.json)
    acc = make_accelerator(cfg.mixed_precision, cfg.grad_accum, find_unused=find_unused)
    if acc.is_main_process:
        print(describe_task(cfg), file=sys.stderr, flush=True)
    set_seed(cfg.seed)
    out = Path(cfg.out)
    checkpoint.pin_config(out, asdict(cfg), cfg.resume, acc.is_main_process)
    return Run(cfg, acc, out, progress)
