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

``labels.csv`` edited by hand while the page was closed (a label changed, a row added or removed) is
not overwritten: on reopening, the edits are taken into the journal as events of their own
(``"by": "hand"``) and said; an edit that breaks the file's rules (a label outside the set, a row
that is not text,label) is refused with its line, and nothing is rewritten. A damaged journal line
is refused the same way.
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


DAMAGED = "the journal is how labels.csv is kept: fix or delete that line (nothing was rewritten)"
EVENT_FIELDS = {"label": ("text", "label"), "unlabel": ("text",), "skip": ("text",), "unskip": ("text",)}


def _event(raw: bytes, n: int, path: Path, names) -> dict:
    """Journal line ``n`` as an event, or one line naming what is wrong with it."""
    try:
        e = json.loads(raw)
    except (ValueError, RecursionError):
        raise InputError(f"{path}, line {n}: not a JSON line (damaged?); {DAMAGED}") from None
    if not isinstance(e, dict):
        raise InputError(f"{path}, line {n}: not a journal event; {DAMAGED}")
    if names is None:
        return e
    kind = e.get("type")
    if kind != "undo" and kind not in EVENT_FIELDS:
        raise InputError(f"{path}, line {n}: unknown event {kind!r}; {DAMAGED}")
    for name in EVENT_FIELDS.get(kind, ()):
        if not isinstance(e.get(name), str):
            raise InputError(f"{path}, line {n}: the event has no {name}; {DAMAGED}")
    if kind == "label" and e["label"] not in names:
        raise InputError(
            f"{path}, line {n}: label {e['label']!r} is not one of {', '.join(names)}; {DAMAGED}"
        )
    return e


def _drop_last(steps: list, step: tuple) -> None:
    for i in range(len(steps) - 1, -1, -1):
        if steps[i] == step:
            del steps[i]
            return


def read_labels_csv(path: Path, names) -> dict[str, str]:
    """labels.csv as text -> label, each row checked (a label outside ``names``, a row that is not
    two fields, a missing header: one line naming it)."""
    problem = f"{path} was edited by hand"
    fix = "fix that line, or take the edit back (the page would rewrite it from its journal)"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            rows = [(reader.line_num, row) for row in reader]  # a quoted newline: the row's last line
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{problem} and cannot be read ({e}): {fix}") from None
    if not rows or rows[0][1] != ["text", "label"]:
        raise InputError(f"{problem}: its line 1 must be the header text,label; {fix}")
    labels: dict[str, str] = {}
    for n, row in rows[1:]:
        if not row:
            continue
        if len(row) != 2:
            raise InputError(f"{problem}: line {n} has {len(row)} fields, not text,label; {fix}")
        if row[1] not in names:
            raise InputError(
                f"{problem}: line {n} has label {row[1]!r}, not one of {', '.join(names)}; {fix}"
            )
        labels.pop(row[0], None)
        labels[row[0]] = row[1]
    return labels


@dataclass
class Journal:
    """The labels so far, replayed from the journal; :meth:`label`, :meth:`skip` and :meth:`undo`
    append an event, then rewrite ``labels.csv``."""

    out: Path
    names: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)  # text -> its last label, in labelling order
    skipped: set[str] = field(default_factory=set)
    history: list[tuple[str, str | None]] = field(default_factory=list)  # (text, label it replaced)
    steps: list[tuple[str, str]] = field(default_factory=list)  # what U undoes: ("label"|"skip", text)
    events: int = 0
    changed_tweets: bool = False  # reopened with a tweets file other than the one it began with
    hand_edits: int = 0  # edits of labels.csv by hand taken in when it reopened

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
        first = _event(complete[0] if complete else tail, 1, path, None)
        if first.get("type") != "header" or not isinstance(first.get("labels"), list):
            raise InputError(f"{path}, line 1: not a journal header; {DAMAGED}")
        if first.get("labels") != list(names):
            raise InputError(
                f"{out} holds labels {', '.join(map(str, first['labels']))}; reopen it with --labels "
                f"{','.join(map(str, first['labels']))}, or name another --out"
            )
        events = [_event(line, n, path, j.names) for n, line in enumerate(complete[1:], 2)]
        hand = j._replay(events)  # every line checked before anything is written
        if tail:  # cut short by a kill before its newline: never acknowledged; drop it from the file
            with open(path, "r+b") as f:
                f.truncate(len(raw) - len(tail))
        j.changed_tweets = first.get("tweets_sha256") != tweets_sha256
        for e in hand:
            j._append(e)
            j._apply(e)
        j.hand_edits = len(hand)
        j.rewrite()  # a kill between an event and its rewrite: labels.csv catches up
        return j

    def _replay(self, events: list[dict]) -> list[dict]:
        """Apply ``events``; return the events that take in hand edits of labels.csv (none when it is
        what the journal says, or what it said one event earlier: a kill before the rewrite)."""
        for e in events[:-1]:
            self._apply(e)
        before = dict(self.labels)  # one copy, before the last event (not one per event)
        for e in events[-1:]:
            self._apply(e)
        if not self.out.exists():
            return []
        on_disk = read_labels_csv(self.out, self.names)
        if on_disk in (self.labels, before):
            return []
        hand = [{"type": "unlabel", "text": t, "by": "hand"} for t in self.labels if t not in on_disk]
        hand += [
            {"type": "label", "text": t, "label": lab, "by": "hand"}
            for t, lab in on_disk.items()
            if self.labels.get(t) != lab
        ]
        return hand

    def _apply(self, e: dict) -> None:
        kind = e["type"]
        if kind in ("label", "unlabel"):  # unlabel: a row removed from labels.csv by hand
            self.history.append((e["text"], self.labels.get(e["text"])))
            self.labels.pop(e["text"], None)  # to the end: the order is the labelling order
            if kind == "label":
                self.labels[e["text"]] = e["label"]
            self.skipped.discard(e["text"])
            self.steps.append(("label", e["text"]))
        elif kind == "skip" and e["text"] not in self.skipped:
            self.skipped.add(e["text"])
            self.steps.append(("skip", e["text"]))
        elif kind == "unskip":
            self.skipped.discard(e["text"])
            _drop_last(self.steps, ("skip", e["text"]))
        elif kind == "undo" and self.history:
            text, before = self.history.pop()
            self.labels.pop(text, None)
            if before is not None:
                self.labels[text] = before
            _drop_last(self.steps, ("label", text))
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
        """Revert the last label or skip (the tweet it was on, or None when there is nothing to undo)."""
        if not self.steps:
            return None
        kind, text = self.steps[-1]
        self.record({"type": "undo"} if kind == "label" else {"type": "unskip", "text": text})
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
