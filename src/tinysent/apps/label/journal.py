"""Where labels live, so that none is ever lost: an append-only journal beside ``labels.csv``
(``labels.csv.journal``, one JSON line per event: label, skip, undo; each written whole and
fsync'ed before the page is told "saved"), and ``labels.csv`` itself (text,label: the file
``tinysent train`` reads) rewritten from the journal after every event, atomically (a temporary file,
fsync, rename): a ``kill -9`` at any moment leaves the old or the new ``labels.csv``, and the journal
rebuilds it when the session reopens. A tweet labelled twice keeps its last label; an undo is an
event of its own (the label it reverts stays in the journal's history).

The journal's first line names the label set and the tweets file (with its sha256): reopening with
other labels is refused; with a changed tweets file, the labels already given still count (they are
kept by text) and the first line says so.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from tinysent.core.errors import InputError

VERSION = 1


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".journal")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, all or nothing: a temporary file beside it, fsync'ed, renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@dataclass
class Journal:
    """The labels so far, replayed from the journal; :meth:`label`, :meth:`skip` and :meth:`undo`
    append an event, then rewrite ``labels.csv``."""

    out: Path
    names: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)  # text -> its last label, in labelling order
    skipped: set[str] = field(default_factory=set)
    history: list[tuple[str, str | None]] = field(default_factory=list)  # (text, label it replaced)
    events: int = 0
    changed_tweets: bool = False  # reopened with a tweets file other than the one it began with

    @classmethod
    def open(cls, out: str | Path, names, tweets: Path, tweets_sha256: str) -> Journal:
        """Replay ``out``'s journal (or start one); refuses another label set. A last line cut short
        by a kill is dropped: it was never reported saved."""
        out = Path(out)
        j = cls(out, tuple(names))
        path = journal_path(out)
        header = {
            "type": "header",
            "version": VERSION,
            "labels": list(names),
            "tweets": tweets.name,
            "tweets_sha256": tweets_sha256,
        }
        if not path.exists() or path.stat().st_size == 0:
            if out.exists():
                raise InputError(
                    f"{out} exists but has no journal ({path.name}): it was not written by tinysent label; "
                    "name another --out (or train on it as it is)"
                )
            j._append(header)
            j.rewrite()
            return j
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        if tail:  # cut short by a kill before its newline: never acknowledged; drop it from the file
            with open(path, "r+b") as f:
                f.truncate(len(raw) - len(tail))
        first = json.loads(complete[0])
        if first.get("labels") != list(names):
            raise InputError(
                f"{out} holds labels {', '.join(first.get('labels') or [])}; reopen it with --labels "
                f"{','.join(first.get('labels') or [])}, or name another --out"
            )
        j.changed_tweets = first.get("tweets_sha256") != tweets_sha256
        for line in complete[1:]:
            j._apply(json.loads(line))
        j.rewrite()  # a kill between an event and its rewrite: labels.csv catches up
        return j

    def _apply(self, e: dict) -> None:
        kind = e["type"]
        if kind == "label":
            self.history.append((e["text"], self.labels.get(e["text"])))
            self.labels.pop(e["text"], None)  # to the end: the order is the labelling order
            self.labels[e["text"]] = e["label"]
            self.skipped.discard(e["text"])
        elif kind == "skip":
            self.skipped.add(e["text"])
        elif kind == "undo" and self.history:
            text, before = self.history.pop()
            self.labels.pop(text, None)
            if before is not None:
                self.labels[text] = before
        self.events += 1

    def _append(self, e: dict) -> None:
        line = json.dumps({**e, "time": round(time.time(), 3)}, ensure_ascii=False) + "\n"
        fd = os.open(journal_path(self.out), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))  # one write: a kill leaves the line whole or cut short
            os.fsync(fd)
        finally:
            os.close(fd)

    def record(self, e: dict) -> None:
        """Append the event (fsync'ed), apply it, rewrite labels.csv: when this returns it is saved."""
        self._append(e)
        self._apply(e)
        self.rewrite()

    def label(self, text: str, label: str) -> None:
        if label not in self.names:
            raise InputError(f"{label!r} is not one of the labels ({', '.join(self.names)})")
        self.record({"type": "label", "text": text, "label": label})

    def skip(self, text: str) -> None:
        self.record({"type": "skip", "text": text})

    def undo(self) -> str | None:
        """Revert the last label (the tweet it was on, or None when there is nothing to undo)."""
        if not self.history:
            return None
        text = self.history[-1][0]
        self.record({"type": "undo"})
        return text

    def rewrite(self) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(self.labels.items())
        write_atomically(self.out, buf.getvalue().encode("utf-8"))

    def counts(self) -> dict[str, int]:
        c = {n: 0 for n in self.names}
        for lab in self.labels.values():
            c[lab] += 1
        return c
