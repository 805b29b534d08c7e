"""Where something ran: the CPU by its model name, the core count, the GPUs (``nvidia-smi -L``);
recorded beside recipe timings, benchmark results and a trained model's ``training`` record."""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from pathlib import Path


def machine() -> dict:
    """{cpu, cores, gpu}: a new dict each call (the facts are read once per process)."""
    return dict(_facts())


@functools.cache
def _facts() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = None
    if shutil.which("nvidia-smi"):
        r = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        gpu = r.stdout.strip() or None
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": gpu}


def describe(facts: dict) -> str:
    """``2-core AMD EPYC`` (``, GPU NAME`` when there is one) from :func:`machine`'s keys."""
    where = f"{facts.get('cores')}-core {facts.get('cpu')}"
    return where + (f", {facts['gpu']}" if facts.get("gpu") else "")


PRECISION_NAMES = {"no": "fp32", "bf16": "bf16 autocast", "fp16": "fp16 autocast"}


def precision_name(precision: str | None) -> str:
    """How a run's autocast setting reads in a sentence: ``fp32``, ``bf16 autocast``, ..."""
    return PRECISION_NAMES.get(precision, str(precision))
