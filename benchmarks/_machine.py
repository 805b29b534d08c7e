"""Machine facts recorded beside every benchmark result, and the result file itself."""

import datetime
import json
import platform
import sys
from pathlib import Path


def machine() -> dict:
    """Where a result was measured: the recipe runner's machine facts (CPU model, cores), the date,
    Python, torch, and the GPU by torch's name for it."""
    import torch

    from tinysent.core.machine import machine as where

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **where(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def write_result(out, benchmark: str, fields: dict, command: str | None = None) -> dict:
    """Write a benchmark's JSON: what it measured, the command that reruns it, the machine, then its
    own fields. Returns the document."""
    doc = {
        "benchmark": benchmark,
        "command": command or "python " + " ".join(sys.argv),
        "machine": machine(),
        **fields,
    }
    Path(out).write_text(json.dumps(doc, indent=2) + "\n")
    return doc
