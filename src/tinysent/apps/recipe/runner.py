"""The runner: a recipe's steps in order in a work folder, each done (skipped), changed (started
over), unfinished (resumed), waiting (for an earlier step), missing an input no step makes (a wrong
``--set data=``), or taken from another work folder that finished it (``--reuse``)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

from tinysent.apps.children import run_stoppable
from tinysent.apps.recipe.clock import TIMINGS, StepClock, clock_file, expected, last_timings, machine
from tinysent.apps.recipe.files import PROJECT, WORKFLOW, make_work, prepare_work, read_recipe
from tinysent.apps.recipe.lock import carry_over, fingerprints
from tinysent.core.errors import InputError, TinysentError


class StepFailed(TinysentError):
    """A step's command exited non-zero; the finished steps stay finished."""


def _steps(config: dict, until: str | None) -> list[dict]:
    commands = {c["name"]: c for c in config["commands"]}
    order = config["workflows"][WORKFLOW]
    if until is not None:
        if until not in order:
            raise InputError(f"--until {until}: the steps are {', '.join(order)}")
        order = order[: order.index(until) + 1]
    return [commands[s] for s in order]


def _absent(work: Path, step: dict, made: set[str] = frozenset()) -> list[str]:
    """A step's inputs that are not in the work folder (leaving out those in ``made``)."""
    return [d for d in step.get("deps", []) if d not in made and not (work / d).exists()]


def missing_inputs(work: Path, steps: list[dict]) -> dict[str, str]:
    """For each step, the first input that is not there and that no step of the recipe makes (a data
    folder named wrong): no run would ever make it, so it is a user's error, not a wait."""
    made = {o for s in steps for o in s.get("outputs", [])}
    return {s["name"]: absent[0] for s in steps if (absent := _absent(work, s, made))}


def missing_note(path: str) -> str:
    """What status and run say of an input that is not there and that no step makes."""
    return f"{path} is not there and no step makes it (is --set data=... right?)"


def _missing_error(step: str, path: str) -> InputError:
    return InputError(f"step {step!r}: {missing_note(path)}")


def step_state(work: Path, step: dict) -> str:
    """done (finished, nothing changed since), changed (finished, but its command, inputs or outputs
    changed: it reruns from the start), unfinished (begun and interrupted, or never run: it runs,
    resuming where it can), or waiting (an input is not there yet)."""
    import srsly
    from weasel.cli.run import check_rerun

    lock = work / "project.lock"
    finished = lock.exists() and step["name"] in (srsly.read_yaml(lock) or {})
    if _absent(work, step):
        return "waiting"
    if not finished:
        return "unfinished"
    with fingerprints(work):
        return "changed" if check_rerun(work, step) else "done"


def check_reuse(work: Path, reuse) -> None:
    """Each ``--reuse`` folder is another recipe's work folder, or one line saying what it is not."""
    for other in reuse:
        if not (Path(other) / PROJECT).is_file():
            raise InputError(f"--reuse {other}: not a recipe's work folder (no {PROJECT} there)")
        if Path(other).resolve() == work.resolve():
            raise InputError(f"--reuse {other} is the work folder itself: name another recipe's work folder")


def status(name: str, work: Path, settings: list[str] = (), reuse: list[Path] = ()) -> list[dict]:
    """Each step's state; ``reusable`` where a ``reuse`` folder finished the same step (for the steps
    whose inputs are here already); ``waiting`` also for a step (finished or not) whose input an
    earlier step that is not done will write."""
    check_reuse(work, reuse)
    config, _ = prepare_work(name, work, list(settings), write=False)  # a status writes nothing
    times = last_timings(work)
    absent = missing_inputs(work, _steps(config, None))

    pending: set[str] = set()  # outputs of earlier steps that have not finished

    def state(step: dict) -> str:
        s = step_state(work, step)
        if step["name"] in absent:
            s = "missing"
        elif pending.intersection(step.get("deps", [])):
            # an input is there, but an earlier step has yet to finish (re)writing it: whether this one
            # reruns is known once that step has run
            s = "waiting"
        elif s in ("unfinished", "changed") and any(reusable(work, Path(o), step) for o in reuse):
            s = "reusable"
        if s != "done":
            pending.update(step.get("outputs", []))
        return s

    rows = []
    with fingerprints(work):
        for s in _steps(config, None):
            row = {"step": s["name"], "state": state(s), "help": s.get("help", "")}
            if s["name"] in absent:
                row["missing"] = absent[s["name"]]
            rows.append({**row, **_time_of(work, s["name"], times)})
    return rows


def _time_of(work: Path, name: str, times: dict) -> dict:
    """A step's time: its last finished run's timings row (a reused step's names where it ran, and how
    long it took there), else the time its unfinished attempts have run so far (``so_far``)."""
    row = times.get(name)
    if row is not None:
        keep = ("seconds", "attempts", "finished", "cpu", "cores", "gpu", "reused_from", "ran_there")
        return {k: row[k] for k in keep if k in row}
    clock = clock_file(work, name)
    if clock.exists():
        c = json.loads(clock.read_text())
        return {"seconds": None, "so_far": c.get("seconds"), "attempts": c.get("attempts")}
    return {"seconds": None}


VAR = re.compile(r"\$\{vars\.(\w+)\}")


def _argv(line: str, raw: list[str], values: dict) -> list[str]:
    """A step's script line as argv: the recipe's own line split first and each ``${vars.KEY}`` put
    into its word after, so a value with spaces or quotes (a path) stays one argument, as written."""
    template = next((r for r in raw if VAR.sub(lambda m: str(values[m.group(1)]), r) == line), None)
    if template is None:  # not a line of the recipe as written (cannot happen): the substituted line
        return _command(line)
    return _command_argv([VAR.sub(lambda m: str(values[m.group(1)]), w) for w in shlex.split(template)])


def _command(line: str) -> list[str]:
    return _command_argv(shlex.split(line))


def _command_argv(argv: list[str]) -> list[str]:
    """``python`` is this interpreter and ``tinysent`` this installation, so a recipe runs with the
    tinysent that started it."""
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
    with fingerprints(other):  # hashed as the other folder's lock was
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
    clock_file(work, step["name"]).unlink(missing_ok=True)  # an attempt begun here is moot
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
    check_reuse(work, reuse)
    # the errors found before any folder is made: a bad recipe, a work folder of another recipe, an
    # input no step makes (said before any step runs: no hour of training ends in this error)
    config, _ = prepare_work(name, work, list(settings), write=False)
    steps = _steps(config, until)
    absent = missing_inputs(work, steps)
    first = next((s["name"] for s in steps if s["name"] in absent), None)
    if first is not None:
        raise _missing_error(first, absent[first])
    make_work(work)
    with folder_lock(work, "--work"):  # one run per work folder
        return _run(name, work, list(settings), until, log, [Path(o) for o in reuse])


def _run(name: str, work: Path, settings: list[str], until: str | None, log, reuse: list[Path]) -> list[dict]:

    config, overrides = prepare_work(name, work, settings)
    carry_over(work, _steps(config, None))
    with fingerprints(work):
        return _run_steps(name, work, config, overrides, until, log, reuse)


def _run_steps(name, work: Path, config: dict, overrides: dict, until, log, reuse: list[Path]) -> list[dict]:
    from weasel.cli.run import update_lockfile

    steps = _steps(config, until)
    raw_scripts = {c["name"]: c["script"] for c in read_recipe(name)["commands"]}
    values = {k.removeprefix("vars."): v for k, v in overrides.items()}
    done = []
    where = machine()
    for step in steps:
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
        if state == "waiting":  # an earlier step finished without making what this one reads
            path = _absent(work, step)[0]
            raise InputError(
                f"step {step['name']!r}: its input {path} is not there, though the step that makes it "
                "finished: that step's command does not write its declared output (see the recipe file)"
            )
        if state == "changed":
            log(f"[{step['name']}] its command or inputs changed: starting it over")
            _remove_outputs(work, step)
            clock_file(work, step["name"]).unlink(missing_ok=True)
        log(f"[{step['name']}] {step.get('help', '')} ({expected(name, work, step['name'])})")
        t0 = time.time()
        with StepClock(work, step["name"]) as clock:
            for line in step["script"]:
                log(f"  $ {line}")
                # the steps' output goes to stderr with the runner's: stdout carries the run's summary only
                # its own process group: a stopped run stops the step (and what it started) and waits
                argv = _argv(line, raw_scripts[step["name"]], values)
                rc = run_stoppable(argv, cwd=work, stdout=_stderr_fd())
                if rc != 0:
                    raise StepFailed(
                        f"step {step['name']!r} failed (exit {rc}); its finished steps are kept: fix the "
                        f"cause and run the same `tinysent recipe run` again to continue from this step"
                    )
        seconds, last = round(clock.seconds, 1), round(time.time() - t0, 1)  # both over the same span
        update_lockfile(work, step)
        clock.done()
        row = {
            "step": step["name"],
            "seconds": seconds,  # every attempt's running time (a resumed step's earlier ones too)
            "attempts": clock.attempts,
            "last_attempt_seconds": last,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **where,
        }
        with open(work / TIMINGS, "a") as f:
            f.write(json.dumps(row) + "\n")
        done.append({"step": step["name"], "state": "ran", "seconds": seconds})
    return done
