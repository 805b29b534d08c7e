"""A run killed while it replaces a model (``--overwrite``, ``pack``) loses nothing: SIGTERM puts the
old folder back before the process ends; after SIGKILL the next command into that folder puts it back
(or, when the killed run had checkpointed, names both and what to do), and leaves nothing beside it."""

import hashlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tinysent.data.outputs import left_aside

from .conftest import tiny_train_args


def shas(folder) -> dict:
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir()) if f.is_file()
    }


def beside(folder) -> list[str]:
    """What a run left beside ``folder``: folders moved aside, temporary packs, locks."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "tinysent", *map(str, args)], capture_output=True, text=True, timeout=300, **kw
    )


def killed_while_replacing(args, out, sig) -> subprocess.Popen:
    """Start ``tinysent ARGS`` and send ``sig`` once it has moved ``out`` aside and begun writing."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tinysent", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.time() + 120
    while not (left_aside(out) and out.exists()):
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, "the run never moved the old folder aside"
        time.sleep(0.02)
    time.sleep(1.0)  # mid-run: the new folder is being written
    proc.send_signal(sig)
    proc.wait(60)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_train_overwrite_killed_keeps_the_old_model(tiny_base, train_file, trained_model, tmp_path, sig):
    out = tmp_path / "m"
    shutil.copytree(trained_model, out)
    before = shas(out)
    args = ["train", *tiny_train_args(tiny_base, train_file, out, epochs=400, eval_every=1000)]
    proc = killed_while_replacing([*args, "--overwrite"], out, sig)
    if sig == signal.SIGTERM:  # the old folder is back before the process ends
        assert proc.returncode == 143 and b"terminated" in proc.stdout.read()
        assert shas(out) == before and beside(out) == []
        return
    assert proc.returncode == -signal.SIGKILL and left_aside(out)  # SIGKILL: nothing can run
    meanwhile = cli("predict", "--model", out, "hello")  # a reader meets the half-written folder
    assert meanwhile.returncode == 2 and "previous model is at" in meanwhile.stderr, meanwhile.stderr
    again = cli(*args)  # the next command into it (here: without --overwrite, so it is refused)
    assert again.returncode == 2 and "not empty" in again.stderr, again.stderr
    assert "restored" in again.stderr and "Traceback" not in again.stderr
    assert shas(out) == before and beside(out) == []


@pytest.mark.parametrize("command", ["train", "distill", "calibrate", "export", "pack"])
def test_the_next_command_settles_what_a_sigkill_left(
    command, tiny_base, train_file, trained_model, tmp_path
):
    """The state a SIGKILL during a replacement leaves (the old folder aside, the new one half
    written), met by each command that writes a model folder."""
    out = tmp_path / "m"
    shutil.copytree(trained_model, out)
    before = shas(out)
    out.rename(tmp_path / ".m.replaced-999999")
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"half written")
    (tmp_path / ".m.pack-abc").mkdir()  # a killed pack's half-built folder: any next command removes it
    args = {
        "train": ["train", *tiny_train_args(tiny_base, train_file, out, epochs=1)],
        "distill": ["distill", "--teacher", trained_model, "--train-data", train_file, "--out", out],
        "calibrate": ["calibrate", "--model", trained_model, "--out", out],
        "export": ["export", "--model", trained_model, "--out", out],
        "pack": ["pack", "--model", trained_model, "--out", out, "--no-onnx"],
    }[command]
    r = cli(*args)
    assert "restored" in r.stderr and "Traceback" not in r.stderr, r.stderr
    if command == "pack":  # pack replaces its folder: the old one came back, then was replaced whole
        assert r.returncode == 0 and (out / "tinysent.json").exists()
    else:  # refused (no --overwrite), and the old model is where it was
        assert r.returncode == 2 and "not empty" in r.stderr and shas(out) == before
    assert beside(out) == []


def test_a_killed_run_that_checkpointed_is_named_not_thrown_away(trained_model, tmp_path):
    out = tmp_path / "m"
    shutil.copytree(trained_model, tmp_path / ".m.replaced-999999")
    (out / "checkpoint").mkdir(parents=True)
    (out / "checkpoint" / "state.json").write_text("{}")
    r = cli("calibrate", "--model", trained_model, "--out", out, "--overwrite")
    assert r.returncode == 2 and "--resume" in r.stderr and ".m.replaced-999999" in r.stderr
    assert (out / "checkpoint" / "state.json").exists() and left_aside(out)
    (tmp_path / ".m.replaced-1").mkdir()
    r = cli("calibrate", "--model", trained_model, "--out", out, "--overwrite")
    assert r.returncode == 2 and "2 earlier folders" in r.stderr
