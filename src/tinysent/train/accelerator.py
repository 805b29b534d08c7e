"""Where training runs: the autocast precision decided for this machine and the Accelerate object
every run's loop is prepared with."""

from __future__ import annotations

from pathlib import Path

import torch


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU (or the ``/proc/cpuinfo`` text given) multiplies bf16 matrices natively (AMX
    or AVX-512 BF16): there bf16 autocast trains 1.5-2.8x faster (benchmarks/bf16_autocast.json); on
    AVX2-only CPUs it gains little or loses."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set(cpuinfo.split())
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(mixed_precision: str) -> str:
    """``auto`` made concrete: bf16 on a GPU that has it and on a CPU that has it (:func:`cpu_has_bf16`),
    else no autocast; anything else as given."""
    if mixed_precision != "auto":
        return mixed_precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    return "bf16" if cpu_has_bf16() else "no"


def make_accelerator(mixed_precision: str = "auto", grad_accum: int = 1, find_unused: bool = False):
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, DistributedDataParallelKwargs

    mixed_precision = resolve_precision(mixed_precision)
    # split_batches: --batch-size is the global batch, shared out across processes.
    on_cpu = not torch.cuda.is_available()  # Accelerate runs several CPU processes (gloo) only with cpu=True
    return Accelerator(
        cpu=on_cpu,
        mixed_precision=mixed_precision,
        gradient_accumulation_steps=grad_accum,
        dataloader_config=DataLoaderConfiguration(split_batches=True),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
    )
