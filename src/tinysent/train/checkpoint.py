"""Resumable training state without pickle: weights and optimizer tensors in safetensors, the rest
(scheduler, RNG states, data position, best metrics) in JSON; written to a temporary folder and
renamed into place, so a kill at any moment leaves either the previous checkpoint or the new one."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from tinysent.core.errors import InputError, ModelError

DIR = "checkpoint"


def _rng_state() -> tuple[dict, dict]:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = s
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    py = random.getstate()
    return tensors, {
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
        "python": [py[0], list(py[1]), py[2]],
    }


def _set_rng_state(tensors: dict, js: dict) -> None:
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    kind, keys, pos, has_gauss, gauss = js["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    v, state, g = js["python"]
    random.setstate((v, tuple(state), g))


def save(out: Path, accelerator, model, optimizer, scheduler, trainer_state: dict) -> None:
    """Write ``out/checkpoint`` atomically (main process writes; every process waits)."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        tmp, final, old = out / (DIR + ".tmp"), out / DIR, out / (DIR + ".old")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        save_model(accelerator.unwrap_model(model), str(tmp / "model.safetensors"))
        opt = optimizer.state_dict()
        tensors = {
            f"{i}.{k}": v.contiguous()
            for i, st in opt["state"].items()
            for k, v in st.items()
            if torch.is_tensor(v)
        }
        scalars = {
            f"{i}.{k}": v for i, st in opt["state"].items() for k, v in st.items() if not torch.is_tensor(v)
        }
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        rng_t, rng_j = _rng_state()
        save_file(rng_t, str(tmp / "rng.safetensors"))
        # state.json is written last, and whole (renamed into place): a folder that has it is complete
        (tmp / "state.json.part").write_text(
            json.dumps(
                {
                    "trainer": trainer_state,
                    "param_groups": opt["param_groups"],
                    "optimizer_scalars": scalars,
                    "scheduler": scheduler.state_dict(),
                    "rng": rng_j,
                }
            )
        )
        (tmp / "state.json.part").rename(tmp / "state.json")
        shutil.rmtree(old, ignore_errors=True)  # a stale one (a run killed mid-save) would block the rename
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def recover(out: Path) -> None:
    """Make ``out/checkpoint`` the newest complete checkpoint after a run was killed while saving: a
    save writes ``checkpoint.tmp`` whole (state.json last), renames ``checkpoint`` to
    ``checkpoint.old``, then ``checkpoint.tmp`` to ``checkpoint``. Killed between the renames, the
    complete ``.tmp`` (else ``.old``) becomes ``checkpoint``; leftovers beside a complete checkpoint
    are removed."""
    import os
    import time

    out = Path(out)
    final, tmp, old = out / DIR, out / (DIR + ".tmp"), out / (DIR + ".old")
    if int(os.environ.get("RANK", "0")) != 0:  # only the main process renames; the others wait for it
        for _ in range(300):
            if (final / "state.json").exists() or not any((c / "state.json").exists() for c in (tmp, old)):
                return
            time.sleep(0.1)
        return
    if not (final / "state.json").exists():
        for candidate in (tmp, old):  # newest first
            if (candidate / "state.json").exists():
                shutil.rmtree(final, ignore_errors=True)
                candidate.rename(final)
                break
    if (final / "state.json").exists():
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def exists(out: Path) -> bool:
    recover(out)
    return (out / DIR / "state.json").exists()


def trainer_state(out: Path) -> dict | None:
    """The trainer state of the checkpoint in ``out`` without loading any tensor (None: no checkpoint)."""
    recover(out)
    f = out / DIR / "state.json"
    return json.loads(f.read_text())["trainer"] if f.exists() else None


def load(out: Path, accelerator, model, optimizer, scheduler) -> tuple[dict, tuple]:
    """Restore what :func:`save` wrote into the (prepared) model, optimizer and scheduler.

    Returns the trainer state and the RNG states, which the caller applies with :func:`restore_rng`
    only after creating its data iterator (creating one draws from torch's global RNG)."""
    ck = out / DIR
    try:
        js = json.loads((ck / "state.json").read_text())
        load_model(
            accelerator.unwrap_model(model), str(ck / "model.safetensors"), device=str(accelerator.device)
        )
        tensors = load_file(str(ck / "optimizer.safetensors"), device=str(accelerator.device))
        rng = load_file(str(ck / "rng.safetensors"))
    except Exception as e:  # safetensors' and json's own errors: a truncated or damaged file
        raise ModelError(
            f"cannot resume from {ck}: {type(e).__name__}: {str(e).splitlines()[0][:200]} (the checkpoint is "
            "damaged or incomplete); start over with --overwrite"
        ) from None
    state: dict = {}
    for key, v in list(tensors.items()) + list(js["optimizer_scalars"].items()):
        i, k = key.split(".", 1)
        state.setdefault(int(i), {})[k] = v
    for st in state.values():  # AdamW keeps `step` on the CPU
        if "step" in st and torch.is_tensor(st["step"]):
            st["step"] = st["step"].cpu()
    optimizer.load_state_dict({"state": state, "param_groups": js["param_groups"]})
    scheduler.load_state_dict(js["scheduler"])
    return js["trainer"], (rng, js["rng"])


def restore_rng(states: tuple) -> None:
    _set_rng_state(*states)


RUN_CONFIG = "run_config.json"
# Options that may change between a run and its resume: they do not change what is trained.
# ("task": the data options decide it, and they are pinned; runs begun before it was stored resume)
RESUMABLE = (
    "resume",
    "overwrite",
    "out",
    "time_budget",
    "stage_budgets",
    "log_every",
    "teacher_cache",
    "task",
)


DATA_OPTIONS = (
    "train_data",
    "val_data",
    "unlabelled",
    "handlabelled_data",
    "tweeteval_data",
    "label_mapping",
)
INPUTS = "input_sha256"


def input_digests(config: dict) -> dict:
    """sha256 of every data file a run reads (each file of a data folder): what a resume must find
    unchanged, since the options name paths and a file can be rewritten at the same path."""
    from tinysent.core.files import file_sha256

    out = {}
    for k in DATA_OPTIONS:
        v = config.get(k)
        if isinstance(v, list):  # a repeatable option: each file
            out[k] = [file_sha256(Path(f)) for f in v if Path(f).is_file()]
            continue
        p = Path(v) if v is not None else None
        if p is None or not p.exists():
            continue
        if p.is_dir():
            out[k] = {f.name: file_sha256(f) for f in sorted(p.iterdir()) if f.is_file()}
        else:
            out[k] = file_sha256(p)
    return out


def pin_config(out: Path, config: dict, resume: bool, main_process: bool = True) -> None:
    """A new run records its configuration and its inputs' sha256 in ``out``; a resumed one must
    match both, or it would continue a schedule on rows it never started with (a data file rewritten
    at the same path) or report rows and steps it never trained on. Refuses with what differs."""
    f = Path(out) / RUN_CONFIG
    config = {**config, INPUTS: input_digests(config)}
    mine = {k: v for k, v in config.items() if k not in RESUMABLE}
    if resume and f.exists():
        from tinysent.data.config import ADDED_OPTIONS, RENAMED_OPTIONS  # options renamed or added since

        saved = {RENAMED_OPTIONS.get(k, k): v for k, v in json.loads(f.read_text()).items()}
        before = {k: v for k, v in saved.items() if k not in RESUMABLE}
        before.update({k: v for k, v in ADDED_OPTIONS.items() if k in mine and k not in before})
        if before.get("mixed_precision") == "auto":  # begun before the decision was recorded: the same
            from tinysent.train.accelerator import resolve_precision  # machine decides it the same way

            before["mixed_precision"] = resolve_precision("auto")
        for k in DATA_OPTIONS:  # a run begun before data paths were recorded whole (relative then)
            if isinstance(before.get(k), str) and Path(before[k]).exists():
                before[k] = str(Path(before[k]).resolve())
        if INPUTS not in before:  # a run from before inputs were pinned: its options still must match
            mine.pop(INPUTS)
        pinned, now = before.get(INPUTS) or {}, mine.get(INPUTS) or {}
        # an input named by the same option value whose content changed: rewritten at the same path
        rewritten = [k for k in DATA_OPTIONS if pinned.get(k) != now.get(k) and before.get(k) == mine.get(k)]
        if INPUTS in mine and rewritten:
            k = rewritten[0]
            raise InputError(
                f"--resume on other data: --{k.replace('_', '-')} {mine.get(k)} is not the file the run "
                "started on (its sha256 changed); put the original back, or start over with --overwrite"
            )
        diff = sorted(k for k in set(before) | set(mine) if before.get(k) != mine.get(k))
        if diff:
            what = ", ".join(f"{k}: {before.get(k)!r} -> {mine.get(k)!r}" for k in diff[:6])
            raise InputError(
                f"--resume with a changed configuration ({what[:600]}): rerun with the original options, "
                "or start over with --overwrite"
            )
    elif main_process:
        Path(out).mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(config, indent=2, sort_keys=True, default=str) + "\n")
