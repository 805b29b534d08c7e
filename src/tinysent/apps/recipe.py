"""Recipes: how a model is made, as data. A recipe is a weasel project file (spaCy's project system,
:mod:`weasel`): named steps, each a ``tinysent`` command with the files it reads (``deps``) and
writes (``outputs``), and one workflow that lists them in order. Weasel hashes a step's command, its
inputs and its outputs into ``project.lock`` when the step finishes; the runner here skips a step
whose hashes still match, reruns one whose command or inputs changed (its outputs removed first: it
starts over), and lets a step that never finished (an interrupted run) continue: training steps pass
``--resume``, which picks up their last checkpoint.

The recipes shipped with tinysent are ``src/tinysent/recipes/NAME.yml``; ``tinysent recipe run`` also
takes a path to a file of the same format (your own recipe). Every run records each step's wall time
and the machine in ``WORK/timings.jsonl``.

Two recipes often share steps (the accurate model's recipe starts with the same two teachers as the
shipped model's). ``--reuse OTHER_WORK`` lets a run take a step from another work folder instead of
running it, when that folder finished the same step: the same script, inputs of the same hashes, and
outputs still as it recorded them (DVC's run cache, across work folders). The outputs are copied, the
step is recorded as done here, and its timings row names where it came from and how long it took there.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

from tinysent.core.errors import InputError, TinysentError

WORKFLOW = "all"  # the one workflow of a recipe: its steps in order
PROJECT = "project.yml"
TIMINGS = "timings.jsonl"


class StepFailed(TinysentError):
    """A step's command exited non-zero; the finished steps stay finished."""


def recipes_dir() -> Path:
    return Path(str(resources.files("tinysent") / "recipes"))


def recipe_names() -> list[str]:
    return sorted(p.stem for p in recipes_dir().glob("*.yml"))


def recipe_file(name: str) -> Path:
    """A shipped recipe by name, or a recipe file by path."""
    p = Path(name)
    if p.suffix in (".yml", ".yaml") and p.is_file():
        return p
    f = recipes_dir() / f"{name}.yml"
    if not f.is_file():
        raise InputError(f"no recipe {name!r}: the recipes are {', '.join(recipe_names())} (or a .yml path)")
    return f


def read_recipe(name: str) -> dict:
    """The recipe file as written (variables not substituted), checked for what the runner needs."""
    import srsly

    f = recipe_file(name)
    try:
        raw = srsly.read_yaml(f)
    except ValueError as e:
        raise InputError(f"{f}: not valid YAML ({' '.join(str(e).split())})") from None
    steps = (raw or {}).get("workflows", {}).get(WORKFLOW)
    names = [c.get("name") for c in raw.get("commands", [])]
    if not steps or any(s not in names for s in steps):
        raise InputError(f"{f}: a recipe needs a workflow {WORKFLOW!r} listing its commands in order")
    return raw


def overrides_of(raw: dict, settings: list[str]) -> dict:
    """``--set KEY=VALUE`` pairs as weasel overrides (``vars.KEY``). The variables the recipe lists
    under ``paths`` name files: given relative, they are relative to where the command was started
    (steps run inside the work folder), so they are made absolute."""
    known = raw.get("vars", {})
    values = {}
    for s in settings:
        key, eq, value = s.partition("=")
        if not eq or key not in known:
            raise InputError(f"--set {s}: expected KEY=VALUE with KEY one of {', '.join(known) or 'none'}")
        values[key] = value
    out = {}
    for key, default in known.items():
        value = values.get(key, default)
        if key in raw.get("paths", []):
            value = str(Path(str(value)).expanduser().resolve())
        elif key in values and isinstance(default, (int, float)) and not isinstance(default, bool):
            try:
                value = type(default)(value)
            except ValueError:
                raise InputError(f"--set {key}={value}: expected a {type(default).__name__}") from None
        out[f"vars.{key}"] = value
    return out


def prepare_work(name: str, work: Path, settings: list[str]) -> tuple[dict, dict]:
    """The work folder holds this recipe (``project.yml``, rewritten from the recipe each time: a newer
    recipe's changed steps rerun) and nothing of another one; returns (config, overrides)."""
    from weasel.util import load_project_config

    raw = read_recipe(name)
    work.mkdir(parents=True, exist_ok=True)
    marker = work / ".recipe"
    title = Path(name).stem
    held = marker.read_text().strip() if marker.exists() else title
    if held != title:
        raise InputError(f"--work {work} holds the recipe {held!r}, not {title!r}: name another folder")
    if not marker.exists() and any(p.name != PROJECT for p in work.iterdir()):
        raise InputError(f"--work {work} is not empty and holds no recipe: name a new or empty folder")
    shutil.copyfile(recipe_file(name), work / PROJECT)
    marker.write_text(title + "\n")
    overrides = overrides_of(raw, settings)
    return load_project_config(work, overrides=overrides), overrides


def _steps(config: dict, until: str | None) -> list[dict]:
    commands = {c["name"]: c for c in config["commands"]}
    order = config["workflows"][WORKFLOW]
    if until is not None:
        if until not in order:
            raise InputError(f"--until {until}: the steps are {', '.join(order)}")
        order = order[: order.index(until) + 1]
    return [commands[s] for s in order]


def step_state(work: Path, step: dict) -> str:
    """done (finished, nothing changed since), changed (finished, but its command, inputs or outputs
    changed: it reruns from the start), unfinished (begun and interrupted, or never run: it runs,
    resuming where it can), or waiting (an input is not there yet)."""
    import srsly
    from weasel.cli.run import check_rerun

    missing = [d for d in step.get("deps", []) if not (work / d).exists()]
    lock = work / "project.lock"
    finished = lock.exists() and step["name"] in (srsly.read_yaml(lock) or {})
    if missing:
        return "waiting"
    if not finished:
        return "unfinished"
    return "changed" if check_rerun(work, step) else "done"


def last_timings(work: Path) -> dict[str, dict]:
    f = work / TIMINGS
    if not f.exists():
        return {}
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return {r["step"]: r for r in rows}


def status(name: str, work: Path, settings: list[str] = (), reuse: list[Path] = ()) -> list[dict]:
    """Each step's state; ``reusable`` where a ``reuse`` folder finished the same step (for the steps
    whose inputs are here already)."""
    config, _ = prepare_work(name, work, list(settings))
    times = last_timings(work)

    def state(step: dict) -> str:
        s = step_state(work, step)
        if s in ("unfinished", "changed") and any(reusable(work, Path(o), step) for o in reuse):
            return "reusable"
        return s

    return [
        {
            "step": s["name"],
            "state": state(s),
            "seconds": times.get(s["name"], {}).get("seconds"),
            "help": s.get("help", ""),
        }
        for s in _steps(config, None)
    ]


def machine() -> dict:
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


def _command(line: str) -> list[str]:
    """A script line as argv: ``python`` is this interpreter and ``tinysent`` this installation, so a
    recipe runs with the tinysent that started it."""
    argv = shlex.split(line)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    elif argv and argv[0] == "tinysent":
        argv = [sys.executable, "-m", "tinysent", *argv[1:]]
    return argv


def _stderr_fd():
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream without a file: the terminal's
        return 2


def _remove_outputs(work: Path, step: dict) -> None:
    """A changed step starts over: its outputs (inside the work folder only) are removed."""
    root = work.resolve()
    for o in step.get("outputs", []):
        p = (work / o).resolve()
        if root not in p.parents:
            continue
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def reusable(work: Path, other: Path, step: dict) -> bool:
    """Whether ``other`` (another recipe's work folder) finished this very step: the same script, the
    same inputs (hashed here, so a relative input is this folder's own earlier output), and outputs
    that still hash as its lock recorded."""
    import srsly
    from weasel.cli.run import get_fileinfo

    lock = other / "project.lock"
    entry = (srsly.read_yaml(lock) or {}).get(step["name"]) if lock.exists() else None
    if not entry or entry.get("script") != step["script"] or not step.get("outputs"):
        return False
    if get_fileinfo(work, step.get("deps", [])) != entry.get("deps"):
        return False
    outs = get_fileinfo(other, step["outputs"])
    return outs == entry.get("outs") and all(o["md5"] for o in outs)


def _take_outputs(work: Path, other: Path, step: dict) -> None:
    """Copy a reused step's outputs in (each through a temporary name, so an interrupted copy is never
    taken for a finished one)."""
    _remove_outputs(work, step)
    for o in step["outputs"]:
        src, dst = other / o, work / o
        tmp = dst.with_name(dst.name + ".reusing")
        if tmp.is_dir():
            shutil.rmtree(tmp)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, tmp)
        else:
            shutil.copy2(src, tmp)
        tmp.rename(dst)


def _reuse_step(work: Path, other: Path, step: dict, where: dict) -> dict:
    """Take a step another work folder finished; its timings row says where it ran and how long."""
    from weasel.cli.run import update_lockfile

    t0 = time.time()
    _take_outputs(work, other, step)
    update_lockfile(work, step)
    there = last_timings(other).get(step["name"], {})
    row = {
        "step": step["name"],
        "seconds": round(time.time() - t0, 1),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **where,
        "reused_from": str(other.resolve()),
        "ran_there": {k: there[k] for k in ("seconds", "finished", "cpu", "cores", "gpu") if k in there},
    }
    with open(work / TIMINGS, "a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def run(
    name: str,
    work: Path,
    settings: list[str] = (),
    until: str | None = None,
    log=None,
    reuse: list[Path] = (),
) -> list[dict]:
    """Run the recipe's steps in order (up to ``until``) in ``work``: done steps skipped, changed
    steps rerun from the start, unfinished ones resumed, or taken from a ``reuse`` folder that
    finished the same step. Returns each step's state and seconds."""
    from tinysent.data.outputs import folder_lock

    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    read_recipe(name)  # a bad recipe file is the error before any folder is made
    for other in reuse:
        if not (Path(other) / PROJECT).is_file():
            raise InputError(f"--reuse {other}: not a recipe's work folder (no {PROJECT} there)")
        if Path(other).resolve() == work.resolve():
            raise InputError(f"--reuse {other} is the work folder itself: name another recipe's work folder")
    work.mkdir(parents=True, exist_ok=True)
    with folder_lock(work):  # one run per work folder
        return _run(name, work, list(settings), until, log, [Path(o) for o in reuse])


def _run(name: str, work: Path, settings: list[str], until: str | None, log, reuse: list[Path]) -> list[dict]:
    from weasel.cli.run import update_lockfile

    config, _ = prepare_work(name, work, settings)
    done = []
    where = machine()
    for step in _steps(config, until):
        state = step_state(work, step)
        if state == "done":
            log(f"[{step['name']}] done, inputs unchanged: skipped")
            done.append({"step": step["name"], "state": "skipped", "seconds": 0.0})
            continue
        other = next((o for o in reuse if state != "waiting" and reusable(work, o, step)), None)
        if other is not None:
            row = _reuse_step(work, other, step, where)
            log(f"[{step['name']}] the same step finished in {other}: its outputs copied, not run again")
            done.append({"step": step["name"], "state": "reused", "seconds": row["seconds"]})
            continue
        if state == "waiting":
            missing = [d for d in step.get("deps", []) if not (work / d).exists()]
            raise InputError(f"step {step['name']!r}: missing input {missing[0]} (is --set data=... right?)")
        if state == "changed":
            log(f"[{step['name']}] its command or inputs changed: starting it over")
            _remove_outputs(work, step)
        log(f"[{step['name']}] {step.get('help', '')}")
        t0 = time.time()
        for line in step["script"]:
            log(f"  $ {line}")
            # the steps' output goes to stderr with the runner's: stdout carries the run's summary only
            rc = subprocess.run(_command(line), cwd=work, stdout=_stderr_fd()).returncode
            if rc != 0:
                raise StepFailed(
                    f"step {step['name']!r} failed (exit {rc}); its finished steps are kept: fix the cause "
                    f"and run the same `tinysent recipe run` again to continue from this step"
                )
        seconds = round(time.time() - t0, 1)
        update_lockfile(work, step)
        row = {
            "step": step["name"],
            "seconds": seconds,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **where,
        }
        with open(work / TIMINGS, "a") as f:
            f.write(json.dumps(row) + "\n")
        done.append({"step": step["name"], "state": "ran", "seconds": seconds})
    return done
