"""The pace of training: AdamW with warmup and linear decay over the real step count, and the time
budget that shortens the schedule when the steps will not fit."""

from __future__ import annotations

import logging
import time

import torch

log = logging.getLogger("tinysent.train.loop")


class LinearSchedule(torch.optim.lr_scheduler.LambdaLR):
    """Warmup then linear decay to 0 at ``total``; ``shrink`` moves the end when a time budget binds.

    transformers' ``get_scheduler("linear")`` gives the same curve but cannot move its end, which a
    time budget needs."""

    def __init__(self, opt, total: int, warmup_ratio: float):
        self.total, self.warmup = total, max(1, int(total * warmup_ratio))
        self.ratio, self.planned = warmup_ratio, total
        super().__init__(opt, self._factor)

    def _factor(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        return max(0.0, (self.total - step) / max(1, self.total - self.warmup))

    def shrink(self, total: int) -> None:
        """End at ``total`` (never later than first planned: a time budget's later estimate may give
        back steps an early, slower one took); the warmup shrinks with it (a budget that keeps 1,000 of
        50,000 steps warms up over 60, not 3,000), never grows."""
        self.total = max(1, min(total, self.planned))
        self.warmup = max(1, min(self.warmup, int(self.total * self.ratio)))
        self.total = max(self.total, self.warmup + 1)

    def state_dict(self) -> dict:
        return {
            "last_epoch": self.last_epoch,
            "total": self.total,
            "warmup": self.warmup,
            "ratio": self.ratio,
            "planned": self.planned,
            "base_lrs": self.base_lrs,
            "_last_lr": self._last_lr,
            "_step_count": self._step_count,
        }

    def load_state_dict(self, state: dict) -> None:
        self.__dict__.update(state)


def make_optimizer(modules, lr: float, weight_decay: float, total_steps: int, warmup_ratio: float):
    """AdamW without decay on biases and LayerNorm; warmup then linear decay to 0 at the real last step.

    The original notebook's schedule reached zero after 20 % of training; here ``total_steps`` is
    computed from the data, the batch size, accumulation and the number of processes.
    """
    decay, no_decay = [], []
    for m in modules:
        for _, p in m.named_parameters():
            if p.requires_grad:
                (no_decay if p.ndim < 2 else decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    return opt, LinearSchedule(opt, total_steps, warmup_ratio)


class Budget:
    """Cuts a run's step count so that training, its evaluations included, ends within ``seconds``,
    the LR schedule decaying to 0 there.

    The first estimate comes after 40 timed steps (from the tenth: the first ones pay for warm-up);
    then every 25 steps and every evaluation re-estimate from the timed steps and the evaluations' own
    cost, so a run whose evaluations are slow, or whose machine slows down, ends in time too, and one
    whose first steps were slowed by another program gets the steps back (never past the first
    plan). Every process takes the smallest estimate, so all stop at the same step. ``elapsed`` is
    the time a resumed run had already spent.
    """

    EVERY = 25  # steps between re-estimates

    def __init__(
        self,
        seconds: float | None,
        accelerator,
        sched: LinearSchedule,
        eval_every: int,
        step: int = 0,
        elapsed: float = 0.0,
    ):
        self.seconds, self.acc, self.sched, self.eval_every = seconds, accelerator, sched, eval_every
        self.t_start = time.time() - elapsed
        self.first = step  # timing starts 10 steps after this process's first step
        self.mark: tuple[float, int] | None = None  # (time, step) timing started at
        self.eval_s, self.evals = 0.0, 0
        self.cut = False

    def evaluated(self, seconds: float) -> None:
        """An evaluation took ``seconds`` (counted once timing has started)."""
        if self.mark is not None:
            self.eval_s += seconds
            self.evals += 1

    def __call__(self, step: int, total: int, evaluated: bool = False) -> int:
        """The run's step count after ``step``: ``total``, or fewer when they would not fit."""
        if self.seconds is None:
            return total
        if self.mark is None:
            if step >= self.first + 10:
                self.mark = (time.time(), step)
            return total
        timed = step - self.mark[1]
        if not (evaluated or (timed >= 40 and (timed - 40) % self.EVERY == 0)):
            return total
        now = time.time()
        per_step = max(now - self.mark[0] - self.eval_s, 1e-9) / max(1, step - self.mark[1])
        per_eval = self.eval_s / self.evals if self.evals else 0.0
        left = self.seconds - (now - self.t_start) - per_eval  # the last step's evaluation too
        more = max(0, int(left / (per_step + per_eval / self.eval_every)))
        fits = torch.tensor([step + more], device=self.acc.device)
        fits = int(self.acc.gather(fits).min().item())
        if fits == total or (fits > total and total >= self.sched.planned):
            return total
        if not self.cut:  # the progress bar's total shows it; -v says it in words
            log.info(
                "time budget %.0f s: %d of %d steps fit; the schedule now ends there",
                self.seconds,
                fits,
                self.sched.planned,
            )
        self.cut = True
        self.sched.shrink(fits)
        return max(self.sched.total, step)
