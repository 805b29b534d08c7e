"""Your own labelled tweets: CSV / TSV, JSONL, Parquet or the TweetEval folder layout, any label set.

Read as carefully as Sentiment140 (:mod:`.sentiment140`): every row is either returned or reported
with its line number (a ragged row, an empty text, a missing or unknown label, a line that is not
JSON), duplicates and conflicting labels are counted, and a file a model cannot learn from (empty,
one class, no such column) is a one-line error that names the fix.

Labels may be strings or integers. Their names come from a mapping (``--label-mapping FILE``, or a
TweetEval folder's ``mapping.txt``: ``id<TAB>name`` lines, or a JSON object), else from the labels
themselves; their order is the mapping's, else sorted (numerically when all are integers). The
names are what a trained model answers (its ``tinysent.json`` labels and ``config.json`` id2label).
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinysent.core.errors import DataError
from tinysent.core.labels import alike_names, check_label_names
from tinysent.data.records import (  # noqa: F401 (re-exported: the reader's names)
    LABEL_COLUMNS,
    SPLITS,
    SUFFIXES,
    TEXT_COLUMNS,
    Problem,
    data_format,
    iter_labelled,
    read_mapping,
)


@dataclass
class Labelled:
    """Rows that parsed, in file order (label = index into ``names``), plus what did not."""

    texts: list[str]
    labels: np.ndarray  # int64 class index per row
    names: tuple[str, ...]
    lines: np.ndarray
    source: str
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx) -> Labelled:
        idx = np.asarray(idx, dtype=np.int64)
        return Labelled(
            [self.texts[i] for i in idx], self.labels[idx], self.names, self.lines[idx], self.source, []
        )

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.labels, minlength=len(self.names))
        return {n: int(k) for n, k in zip(self.names, c)}

    def duplicates(self) -> tuple[int, int]:
        """(rows repeating an earlier row's text and label, texts seen with more than one label)."""
        seen: dict[str, set] = {}
        dup = 0
        for t, y in zip(self.texts, self.labels.tolist()):
            s = seen.setdefault(t, set())
            dup += y in s
            s.add(y)
        return dup, sum(len(s) > 1 for s in seen.values())

    def deduplicated(self) -> Labelled:
        """Each text once, with its label; texts seen with conflicting labels dropped."""
        by_text: dict[str, set] = {}
        for t, y in zip(self.texts, self.labels.tolist()):
            by_text.setdefault(t, set()).add(y)
        keep, seen = [], set()
        for i, t in enumerate(self.texts):
            if len(by_text[t]) == 1 and t not in seen:
                keep.append(i)
                seen.add(t)
        return self.subset(keep)

    def summary(self) -> dict:
        dup, conflicts = self.duplicates()
        kinds = Counter(p.kind for p in self.problems)
        return {
            "source": self.source,
            "rows": len(self),
            "labels": self.counts(),
            "problems": dict(kinds),
            "first_problems": [str(p) for p in self.problems[:5]],
            "duplicates": dup,
            "conflicting_texts": conflicts,
        }

    def check_usable(self, purpose: str = "") -> None:
        """At least one row, else one line naming the first rejected row (line, kind, detail)."""
        if not len(self):
            raise DataError(f"{self.source} has no usable rows{purpose} ({_problem_line(self.problems)})")

    def check_trainable(self) -> None:
        """Enough to learn from: rows, and at least two classes present."""
        self.check_usable()
        present = [n for n, k in self.counts().items() if k]
        if len(present) < 2:
            raise DataError(
                f"{self.source} has one class only ({present[0]!r}, {len(self):,} rows"
                + (f"; {_problem_line(self.problems)}" if self.problems else "")
                + "): a model would learn one answer; label examples of at least two classes"
            )


def _problem_line(problems: list[Problem]) -> str:
    if not problems:
        return "the file is empty"
    p = problems[0]
    rows = "1 row" if len(problems) == 1 else f"{len(problems):,} rows"
    return f"{rows} rejected, first at line {p.line}: {p.kind}: {p.detail}"


def is_labelled(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` is labelled data in this module's formats, not Sentiment140's headerless CSV
    (whose first field is a polarity code): a TweetEval folder, JSONL, Parquet, or a CSV/TSV whose
    first line is a header."""
    if path is None:
        return False
    p = Path(path)
    if p.is_dir():
        return (p / "train_text.txt").exists() or (p / "test_text.txt").exists()
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".parquet", ".tsv"):
        return True
    if suffix != ".csv" or not p.is_file():
        return False
    with open(p, "rb") as f:
        head = f.readline(1 << 16)
    try:  # not UTF-8 (a UTF-16 export, Latin-1): Sentiment140's reader names the encoding problem
        line = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    first = next(csv.reader(io.StringIO(line)), [])
    return bool(first) and "\x00" not in line and not first[0].strip().lstrip("-").isdigit()


def folder_mapping(folder: Path) -> Path:
    """A TweetEval folder's ``mapping.txt``, or the error: without it its label names would be a
    guess (an irony folder read as sentiment scores its 0/1 as negative/neutral)."""
    mapping = Path(folder) / "mapping.txt"
    if not mapping.exists():
        raise DataError(
            f"{folder} is a TweetEval folder without mapping.txt, so its label names are unknown: add "
            "mapping.txt (one 'id<TAB>name' line per label, e.g. '0<TAB>negative') or pass "
            "--label-mapping FILE"
        )
    return mapping


def read_as_labelled(path, mapping=None) -> bool:
    """Whether ``path`` is read as labelled data (:func:`read_labelled`, any label set) rather than by
    the sentiment readers (Sentiment140, TweetEval sentiment): the one place evaluate, report, data
    check and run ask it."""
    return path is not None and is_labelled(path) and not sentiment_folder(path, mapping)


def sentiment_folder(path: str | os.PathLike, mapping: str | os.PathLike | None = None) -> bool:
    """A TweetEval *sentiment* folder (mapping negative / neutral / positive), which has its own
    readers and 3-class report (:mod:`.semeval`), as opposed to another TweetEval task. A TweetEval
    folder without ``mapping.txt`` and no ``mapping`` given is an error: its label names would be a
    guess (an irony folder read as sentiment scores its 0/1 as negative/neutral)."""
    p = Path(path)
    if not p.is_dir():
        return False
    if mapping is not None:
        return False  # the user named the labels: read as labelled data with them
    if not any((p / f"{s}_text.txt").exists() for s in SPLITS):
        return False
    return [n for _, n in read_mapping(folder_mapping(p))] == ["negative", "neutral", "positive"]


def _names_of(keys: Counter, first_line: dict, source: str, mapping, pairs) -> tuple[str, ...]:
    """The label names of a training file: the mapping's (every label must be in it), else the labels
    themselves, sorted (numerically when all are integers); names that differ only in case or spaces
    are an error (two classes, or one? not guessed), and so is a record field's name."""
    if pairs is not None:
        ids, names = dict(pairs), [n for _, n in pairs]
        unmapped = sorted(k for k in keys if k not in ids and k not in names)
        if unmapped:
            k = unmapped[0]
            raise DataError(
                f"{source}: label {k!r} ({keys[k]:,} rows, first at line {first_line[k]}) is not in the "
                f"mapping {mapping} (ids {', '.join(ids)}), so its rows would be dropped"
                + (f"; {len(unmapped) - 1} more unmapped" if len(unmapped) > 1 else "")
                + ": add it to the mapping, or fix the labels"
            )
        check_label_names(names, f"{source} (mapping {mapping})")
        return tuple(names)
    found = sorted(keys)
    for variants in alike_names(found):
        shown = ", ".join(f"{v!r} ({keys[v]:,} rows, first at line {first_line[v]})" for v in variants)
        raise DataError(
            f"{source}: labels {shown} differ only in case or spaces: make them one label in the data "
            "(or list the distinct names in a --label-mapping file)"
        )
    numeric = all(k.lstrip("-").isdigit() for k in found)
    names = tuple(sorted(found, key=(lambda k: int(k)) if numeric else None))
    check_label_names(names, source)
    return names


def _mapped_stream(path, split, text_column, label_column, mapping):
    """(source, row stream, mapping file, its (id, name) pairs or None): a TweetEval folder's own
    mapping.txt unless one is given; a folder without one is an error (names are never guessed)."""
    p = Path(path)
    source, stream = iter_labelled(p, split, text_column, label_column)
    if mapping is None and p.is_dir():
        mapping = folder_mapping(p)
    return source, stream, mapping, (read_mapping(mapping) if mapping is not None else None)


def read_labelled(
    path: str | os.PathLike,
    split: str = "train",
    text_column: str | None = None,
    label_column: str | None = None,
    mapping: str | os.PathLike | None = None,
    names: tuple[str, ...] | None = None,
) -> Labelled:
    """Read labelled tweets (see the module's docstring). ``split``: which split of a TweetEval folder;
    ``names``: a label set to read against (a model's, or the training file's), so that a label
    outside it is an error naming it, and class indices agree with that model."""
    source, stream, mapping, pairs = _mapped_stream(path, split, text_column, label_column, mapping)
    id_to_name = dict(pairs) if pairs else {}
    texts, keys, lines, problems = [], [], [], []
    for row in stream:
        if isinstance(row, Problem):
            problems.append(row)
            continue
        line, text, key = row
        texts.append(text)
        keys.append(id_to_name.get(key, key))
        lines.append(line)
    counts = Counter(keys)
    first_line: dict[str, int] = {}
    for k, line in zip(keys, lines):
        first_line.setdefault(k, line)
    if names is None:
        names = _names_of(counts, first_line, source, mapping, pairs)
    else:
        unseen = sorted(set(counts) - set(names))
        if unseen:
            raise DataError(
                f"{source} has labels the model was not trained on: {', '.join(map(repr, unseen[:5]))} "
                f"(it knows {', '.join(names)}); fix the labels or pass --label-mapping"
            )
    index = {n: i for i, n in enumerate(names)}
    labels = np.array([index[k] for k in keys], dtype=np.int64)
    if problems and texts:  # no rows at all is the caller's one-line error (check_usable)
        logging.getLogger(__name__).warning(
            "%s: %s; left out (`tinysent data check %s` lists every one)",
            source,
            _problem_line(problems),
            path,
        )
    return Labelled(texts, labels, tuple(names), np.array(lines, dtype=np.int64), source, problems)


CODE_BITS = 12  # check_labelled: label codes packed beside a text's hash


def check_labelled(
    path: str | os.PathLike,
    split: str = "train",
    text_column: str | None = None,
    label_column: str | None = None,
    mapping: str | os.PathLike | None = None,
) -> dict:
    """:meth:`Labelled.summary` of a file without holding it: rows are counted as they stream by, and
    duplicates found from a 52-bit hash of each text packed with its label (8 bytes a row, not the
    texts; two of 2.4 million texts share a hash with odds under 1 in 1,000)."""
    import hashlib
    from array import array

    source, stream, mapping, pairs = _mapped_stream(path, split, text_column, label_column, mapping)
    id_to_name = dict(pairs) if pairs else {}
    counts: Counter = Counter()
    first_line: dict[str, int] = {}
    code: dict[str, int] = {}
    packed = array("Q")  # per row: a 52-bit hash of its text, then its label's code in 12 bits
    kinds: Counter = Counter()
    first_problems: list[str] = []
    for row in stream:
        if isinstance(row, Problem):
            kinds[row.kind] += 1
            if len(first_problems) < 5:
                first_problems.append(str(row))
            continue
        line, text, key = row
        key = id_to_name.get(key, key)
        counts[key] += 1
        first_line.setdefault(key, line)
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        c = code.setdefault(key, len(code))
        if c < 1 << CODE_BITS:  # more labels than that: no model takes them (MAX_LABELS), no count
            packed.append(int.from_bytes(digest, "little") >> CODE_BITS << CODE_BITS | c)
    names = _names_of(counts, first_line, source, mapping, pairs)
    dup = conflicts = None
    if len(code) <= 1 << CODE_BITS:
        k = np.frombuffer(packed, dtype=np.uint64) if len(packed) else np.zeros(0, np.uint64)
        k.sort()  # in place: 8 bytes a row in all
        same_row = k[1:] == k[:-1]
        dup = int(same_row.sum())
        h = k >> CODE_BITS
        same_text = h[1:] == h[:-1]
        del h
        other_label = np.flatnonzero(same_text & ~same_row) + 1  # a text again, with another label
        conflicts = len(np.unique(k[other_label] >> CODE_BITS))
    return {
        "source": source,
        "rows": int(sum(counts.values())),
        "labels": {n: int(counts.get(n, 0)) for n in names},
        "problems": dict(kinds),
        "first_problems": first_problems,
        "duplicates": dup,
        "conflicting_texts": conflicts,
    }
