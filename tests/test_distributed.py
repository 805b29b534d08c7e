"""Training under several processes (torchrun, gloo on CPU) and exact resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import make_tiny_base, tiny_train_args


def _cli(*args, procs: int = 1):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    if procs == 1:
        cmd = [sys.executable, "-m", "tinysent.apps.cli", *args]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            # Loopback, not the host's FQDN: a sandbox whose hostname does not resolve fails otherwise.
            "--local-addr=127.0.0.1",
            f"--nproc_per_node={procs}",
            "-m",
            "tinysent.apps.cli",
            *args,
        ]
    return cmd, env


def _run(cmd, env):
    """Run to the end; on failure show the child's own stderr (pytest shows only ours)."""
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"rc {r.returncode}\n{r.stderr[-6000:]}"


def _evals(out):
    return [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines() if '"eval"' in x]


def _train_args(base, data, out, *extra):
    return [
        "train",
        *tiny_train_args(base, data, out, lr="2e-3", eval_every=10, patience="none", mixed_precision="no"),
        *extra,
    ]


def test_two_processes_match_one_with_the_same_global_batch(train_file, tmp_path):
    base = make_tiny_base(tmp_path / "base", dropout=0.0)  # no dropout: the runs must agree step for step
    runs = {}
    for procs in (1, 2):
        out = tmp_path / f"p{procs}"
        # 1,024 training rows = 32 full global batches of 32, split 16 + 16 under two processes.
        cmd, env = _cli(*_train_args(base, train_file, out, "--max-train", "1024"), procs=procs)
        _run(cmd, env)
        runs[procs] = _evals(out)
    one, two = runs[1], runs[2]
    assert [e["step"] for e in one] == [e["step"] for e in two] and len(one) >= 5
    for a, b in zip(one, two):
        assert a["val_n"] == b["val_n"] == 120  # every validation example counted once
        # Same global batches; only float summation order differs (all-reduce vs one sum).
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-3, abs=1e-4)
    start = json.loads((tmp_path / "p2" / "train_log.jsonl").read_text().splitlines()[0])
    assert start["processes"] == 2


def test_sigkill_then_resume_ends_like_an_uninterrupted_run(train_file, tmp_path):
    base = make_tiny_base(tmp_path / "base")
    args = lambda out: _train_args(base, train_file, out, "--epochs", "6", "--eval-every", "15")  # noqa: E731
    cmd, env = _cli(*args(tmp_path / "full"))
    _run(cmd, env)

    out = tmp_path / "killed"
    cmd, env = _cli(*args(out))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "checkpoint" / "state.json").exists():
        assert proc.poll() is None and time.time() < deadline, "training ended before its first checkpoint"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads((out / "checkpoint" / "state.json").read_text())["trainer"]["step"]
    assert killed_at < 6 * 34  # mid-run
    cmd, env = _cli(*args(out), "--resume")
    _run(cmd, env)

    full, resumed = _evals(tmp_path / "full"), _evals(out)
    last_full, last_resumed = full[-1], resumed[-1]
    assert last_full["step"] == last_resumed["step"]
    assert last_resumed["val_loss"] == pytest.approx(last_full["val_loss"], rel=1e-4, abs=1e-5)
    assert last_resumed["val_accuracy"] == last_full["val_accuracy"]
    log = (out / "train_log.jsonl").read_text()
    assert '"type": "resume"' in log
