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
