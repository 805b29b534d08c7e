"""Output folders of the runs that write a model: one writer at a time (a lock beside the folder),
and the old folder kept until a new run into it succeeds, even when that run is killed."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

from tinysent.core.errors import MetaError
from tinysent.core.files import left_aside, replaced_name

log = logging.getLogger(__name__)


TEMPORARY_TAGS = ("pack",)  # runs that build a whole folder beside ``out`` before swapping it in


def temporary_prefix(out: Path, tag: str) -> str:
    """The name prefix of a folder a ``tag`` run builds beside ``out`` (see :func:`swap_in`)."""
    assert tag in TEMPORARY_TAGS
    return f".{out.name}.{tag}-"


def stale_temporaries(out: str | Path) -> list[Path]:
    """Folders that killed runs were building beside ``out`` (call under ``out``'s lock)."""
    import glob

    out = Path(out)
    return [
        p for tag in TEMPORARY_TAGS for p in out.parent.glob(glob.escape(temporary_prefix(out, tag)) + "*")
    ]


def recover(out: str | Path, resume: bool = False) -> Path | None:
    """Under ``out``'s lock (so the run that moved a folder aside is gone): put back the old folder a
    killed ``--overwrite`` run left aside, in place of what that run had written; a run that
    checkpointed is not thrown away but named (``--resume`` continues it). With ``resume``: the old
    folder stays aside and is returned (deleted when the resumed run succeeds)."""
    import shutil

    out = Path(out)
    for stale in stale_temporaries(out):  # a killed run's half-built folder: never anything else's
        shutil.rmtree(stale, ignore_errors=True)
    left = left_aside(out)
    if not left:
        return None
    if len(left) > 1:
        raise MetaError(
            f"{out}: killed runs left {len(left)} earlier folders beside it "
            f"({', '.join(p.name for p in left)}): rename the one to keep to {out.name}, delete the others"
        )
    old = left[0]
    if resume:
        log.warning("the model %s held before the killed run is kept at %s until this run succeeds", out, old)
        return old
    if out.is_dir() and (out / "checkpoint").exists():
        raise MetaError(
            f"{out} holds a run killed while it replaced the previous model, which is kept at {old}: "
            f"--resume continues that run (the previous model is deleted when it succeeds), or delete {out} "
            "and run again to get the previous model back first"
        )
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists() or out.is_symlink():
        out.unlink()
    old.rename(out)
    log.warning("restored %s: a run killed while replacing it had left it aside as %s", out, old.name)
    return None


def swap_in(new: Path, out: Path) -> None:
    """Put the finished folder ``new`` at ``out`` (the caller holds ``out``'s lock); the old folder is
    kept aside under :func:`replaced_name` until ``new`` is in place, so a kill between the two
    renames leaves it for :func:`recover`."""
    import shutil

    old = replaced_name(out)
    if out.exists():
        out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def folder_lock(out: str | Path, option: str = "--out"):
    """One writer per output folder: an exclusive lock on ``.NAME.lock`` beside ``out`` for the run
    (a second run into the same folder is refused at once, before it touches anything); the lock
    file is removed when the run ends. Only the main process of a multi-process run locks."""
    import os

    from tinysent.core.files import exclusive_lock

    out = Path(out)
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    lock = out.parent / f".{out.name}.lock"
    busy = MetaError(f"another run is writing {out}: wait for it to finish, or name another {option}")
    for _ in range(5):
        f = exclusive_lock(lock, busy)
        if f is None:  # no flock on this OS
            yield
            return
        try:  # the file may have been removed by the run that just ended: lock the one at the path
            if os.stat(lock).st_ino == os.fstat(f.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        f.close()
    else:
        raise MetaError(f"cannot lock {out} (its lock file keeps changing); try again")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        f.close()


@contextmanager
def output_folder(out: str | Path, overwrite: bool = False, resume: bool = False):
    """:func:`folder_lock` around :func:`_unlocked_output_folder`: one writer, and the old folder
    kept until the new run succeeds; an old folder a killed run left aside is put back first
    (:func:`recover`)."""
    import os
    import shutil

    with folder_lock(out):
        old = recover(out, resume) if int(os.environ.get("RANK", "0")) == 0 else None
        with _unlocked_output_folder(out, overwrite, resume):
            yield
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _unlocked_output_folder(out: str | Path, overwrite: bool = False, resume: bool = False):
    """Guard a run that writes a model folder: a non-empty ``out`` is refused unless ``overwrite``;
    then the old folder is moved aside, the run writes a fresh one (nothing of the old model stays in
    it), and the old one is deleted when the run succeeds or put back when it fails. ``resume``
    continues in ``out`` as it is; a run into a fresh folder that fails before its first checkpoint
    leaves the folder as it found it. In a multi-process run only the main process moves folders."""
    import os
    import shutil

    out = Path(out)
    if resume:
        yield
        return
    if out.exists() and not out.is_dir():
        raise MetaError(f"--out {out} is a file; name a folder")
    if not (out.exists() and any(out.iterdir())):
        existed = out.exists()
        try:
            yield
        except BaseException:
            # A run that fails before its first checkpoint (a base it cannot reach, bad data) leaves
            # nothing to resume: remove what it wrote, so the corrected rerun starts clean. With a
            # checkpoint the folder stays for --resume.
            if int(os.environ.get("RANK", "0")) == 0 and out.is_dir() and not (out / "checkpoint").exists():
                if existed:
                    for f in out.iterdir():
                        shutil.rmtree(f) if f.is_dir() else f.unlink()
                else:
                    shutil.rmtree(out, ignore_errors=True)
            raise
        return
    if not overwrite:
        n = sum(1 for _ in out.iterdir())
        raise MetaError(
            f"--out {out} is not empty ({n} entries): pass --overwrite to replace it (the old one is kept "
            "until the new run succeeds), or name another folder"
        )
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    old = replaced_name(out)
    out.rename(old)
    try:
        yield
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
