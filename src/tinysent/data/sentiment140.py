"""Sentiment140, read exactly: formats, labels, malformed rows, duplicates, splits, download.

The original notebook read the headerless CSV with a header and lost its first tweet; here every
row is either returned or reported with its line number, never dropped silently.
"""

from __future__ import annotations

import csv
import gzip
import io
import lzma
import math
import os
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

import numpy as np

from tinysent.core.errors import DataError, InputError
from tinysent.core.labels import SENTIMENT2
from tinysent.data.download import OFFICIAL_SHA256, OFFICIAL_SIZE, OFFICIAL_URL, download  # noqa: F401
from tinysent.data.records import Problem

TRAIN_MEMBER = "training.1600000.processed.noemoticon.csv"
TEST_MEMBER = "testdata.manual.2009.06.14.csv"
TEST_SHA256 = "c77669cc86ae85d3807d65fc13fed0c395266db518d4eaa0ff1f19bf6efbbdd3"  # the 498 test tweets
# File names looked for when --train-data / --test-data names a folder, best first.
TRAIN_NAMES = (TRAIN_MEMBER, "training.1600000.polarity_text.csv.gz", "trainingandtestdata.zip")
TEST_NAMES = (TEST_MEMBER, "trainingandtestdata.zip")


class Polarity(IntEnum):
    """Sentiment140's label codes. Models use class indices instead: see ``BINARY_LABELS``."""

    NEGATIVE = 0
    NEUTRAL = 2
    POSITIVE = 4

    @property
    def label(self) -> str:
        return self.name.lower()


#: Class index → label name for the binary models (index 1 is "positive").
BINARY_LABELS = SENTIMENT2  # class 0, 1 of a pos/neg row (core/labels.py names them once)


def polarity_to_class(polarity: np.ndarray) -> np.ndarray:
    """0 → 0 (negative), 4 → 1 (positive); neutral has no binary class and is an error here."""
    polarity = np.asarray(polarity)
    if (polarity == Polarity.NEUTRAL).any():
        raise InputError("neutral rows have no binary class: call Corpus.polar() first")
    return (polarity == Polarity.POSITIVE).astype(np.int64)


@dataclass
class Corpus:
    """Rows that parsed, in file order, plus what did not."""

    texts: list[str]
    polarity: np.ndarray  # int8 codes 0/2/4
    lines: np.ndarray  # 1-based line of each row in its file
    source: str
    columns: int = 6
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx) -> Corpus:
        idx = np.asarray(idx, dtype=np.int64)
        return Corpus(
            [self.texts[i] for i in idx],
            self.polarity[idx],
            self.lines[idx],
            self.source,
            self.columns,
            self.problems,
        )

    def polar(self) -> Corpus:
        """The positive/negative rows (the usual 359 of the test set)."""
        return self.subset(np.flatnonzero(self.polarity != Polarity.NEUTRAL))

    @property
    def n_neutral(self) -> int:
        return int((self.polarity == Polarity.NEUTRAL).sum())

    def label_counts(self) -> dict[str, int]:
        c = Counter(self.polarity.tolist())
        return {p.label: int(c.get(int(p), 0)) for p in Polarity}

    @property
    def classes(self) -> np.ndarray:
        return polarity_to_class(self.polarity)


# ---------------------------------------------------------------------------------------------
# Reading


def _open_binary(path: Path, member: str | None) -> io.BufferedIOBase:
    if path.suffix == ".zip":
        zf = zipfile.ZipFile(path)
        names = zf.namelist()
        if member is None:
            raise DataError(f"{path} is a zip archive: name a member, one of {names}")
        if member not in names:
            raise DataError(f"{path} has no member {member!r}; it has {names}")
        return zf.open(member)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


def iter_rows(path: str | os.PathLike, member: str | None = None, encoding: str = "latin-1"):
    """Yield ``(line, fields)`` for each CSV record; line is where the record starts (1-based)."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"{path}: no such file. Pass --train-data / --test-data with a Sentiment140 file or folder."
        )
    if path.is_dir():
        raise DataError(
            f"{path} is a folder; name the file in it (or pass the folder where a folder is asked)"
        )
    try:
        with _open_binary(path, member) as raw:
            head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise DataError(f"{path} is UTF-16 text; save it as UTF-8 (or latin-1) CSV")
            text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
            reader = csv.reader(text)
            start = 1
            for row in reader:
                yield start, row
                start = reader.line_num + 1
    except (EOFError, OSError, zipfile.BadZipFile, lzma.LZMAError, csv.Error) as e:
        raise DataError(
            f"{path}: cannot read it ({e}); the file is truncated or damaged: download or copy it again"
        ) from None


def read(
    path: str | os.PathLike,
    *,
    member: str | None = None,
    strict: bool = False,
    encoding: str = "latin-1",
) -> Corpus:
    """Read a Sentiment140 file: 6-column (official) or 2-column ``polarity,text``; csv, gz or zip.

    Malformed rows are kept out of the corpus and listed in ``Corpus.problems``; with
    ``strict=True`` the first one raises :class:`DataError` instead.
    """
    path = Path(path)
    if path.suffix == ".zip" and member is None:
        member = TRAIN_MEMBER
    texts: list[str] = []
    pols: list[int] = []
    lines: list[int] = []
    problems: list[Problem] = []
    ncols = None
    where = f"{path}::{member}" if member else str(path)

    def bad(line: int, kind: str, detail: str) -> None:
        if strict:
            raise DataError(f"{where}, line {line}: {detail} (drop --strict to skip and count such rows)")
        problems.append(Problem(line, kind, detail))

    codes = {"0": 0, "2": 2, "4": 4}
    for line, row in iter_rows(path, member, encoding):
        n = len(row)
        if ncols is None and n in (2, 6):
            ncols = n
        if n != ncols:
            bad(line, "columns", f"expected {ncols or '2 or 6'} columns, found {n}")
            continue
        pol = codes.get(row[0].strip())
        if pol is None:
            bad(line, "polarity", f"unknown polarity {row[0][:20]!r} (expected 0, 2 or 4)")
            continue
        t = row[-1]
        if not t.isascii():
            try:
                t.encode("utf-8")
            except UnicodeEncodeError:
                bad(line, "undecodable", f"bytes that are not valid {encoding}")
                continue
        if not t.strip():
            bad(line, "empty", "empty text")
            continue
        texts.append(t)
        pols.append(pol)
        lines.append(line)
    if not texts:
        why = f"; first problem, line {problems[0].line}: {problems[0].detail}" if problems else ""
        raise DataError(
            f"{where}: no tweets in it ({len(problems)} rows skipped{why}); a Sentiment140 file has rows "
            "polarity,...,text (6 columns) or polarity,text"
        )
    return Corpus(
        texts, np.asarray(pols, dtype=np.int8), np.asarray(lines, dtype=np.int64), where, ncols or 0, problems
    )


def resolve(path: str | os.PathLike | None, split: str = "train") -> tuple[Path, str | None]:
    """Turn ``--data`` (a file, a folder, or None for the cached download) into (file, zip member)."""
    if split not in ("train", "test"):
        raise InputError(f"split must be 'train' or 'test', got {split!r}")
    names = TRAIN_NAMES if split == "train" else TEST_NAMES
    member = TRAIN_MEMBER if split == "train" else TEST_MEMBER
    if path is None:
        path = download()
    path = Path(path)
    if path.is_dir():
        for name in names:
            if (path / name).exists():
                path = path / name
                break
        else:
            raise DataError(f"{path} holds none of {', '.join(names)}; pass the file itself with --data")
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    return path, (member if path.suffix == ".zip" else None)


def load(path: str | os.PathLike | None = None, split: str = "train", strict: bool = False) -> Corpus:
    """Read the train or test split from a file, a folder or the cached official archive."""
    file, member = resolve(path, split)
    return read(file, member=member, strict=strict)


# ---------------------------------------------------------------------------------------------
# Duplicates, splits


def duplicate_stats(corpus: Corpus) -> dict[str, int]:
    """Exact duplicate (label, text) rows and texts that occur with more than one label."""
    seen: set[tuple[int, str]] = set()
    labels_of: dict[str, set[int]] = {}
    dup = 0
    for p, t in zip(corpus.polarity.tolist(), corpus.texts):
        if (p, t) in seen:
            dup += 1
        else:
            seen.add((p, t))
        labels_of.setdefault(t, set()).add(p)
    conflicting = {t for t, ls in labels_of.items() if len(ls) > 1}
    return {
        "duplicate_rows": dup,
        "conflicting_texts": len(conflicting),
        "conflicting_rows": sum(1 for t in corpus.texts if t in conflicting),
    }


def deduplicate(corpus: Corpus, drop_duplicates: bool = True, drop_conflicts: bool = False) -> Corpus:
    """Keep the first of each (label, text); with ``drop_conflicts`` drop texts seen with both labels."""
    labels_of: dict[str, set[int]] = {}
    for p, t in zip(corpus.polarity.tolist(), corpus.texts):
        labels_of.setdefault(t, set()).add(p)
    keep, seen = [], set()
    for i, (p, t) in enumerate(zip(corpus.polarity.tolist(), corpus.texts)):
        if drop_conflicts and len(labels_of[t]) > 1:
            continue
        if drop_duplicates:
            if (p, t) in seen:
                continue
            seen.add((p, t))
        keep.append(i)
    return corpus.subset(keep)


def _rng(seed: int) -> np.random.Generator:
    # PCG64 streams are specified bit for bit, so splits are identical on every machine.
    return np.random.Generator(np.random.PCG64(seed))


def stratified_split(polarity: np.ndarray, fraction: float = 0.01, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Deterministic stratified (train_idx, val_idx), each sorted in file order; every class with two
    or more rows has at least one in each, a class of one row is in training."""
    if not 0 < fraction < 1:
        raise InputError(f"validation fraction must be in (0, 1), got {fraction}")
    rng = _rng(seed)
    train, val = [], []
    for p in sorted(set(np.asarray(polarity).tolist())):
        idx = np.flatnonzero(polarity == p)
        idx = idx[rng.permutation(len(idx))]
        # a class of one row stays in training: validation could not measure it, and the model
        # would otherwise have a label it never saw an example of
        k = max(1, round(len(idx) * fraction)) if len(idx) >= 2 else 0
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def sample_quotas(counts, n: int) -> list[int]:
    """Rows to take from each class for a stratified sample of exactly ``n`` (< the total): in
    proportion, every class at least one row where ``n`` allows (n >= the number of classes), the
    rounding settled by largest remainder. Where rounding each class alone already gives this (two
    balanced classes, say), it is what it gives, so earlier samples are unchanged."""
    counts = [int(c) for c in counts]
    total, k = sum(counts), len(counts)
    quota = [n * c / total for c in counts]
    floor1 = 1 if n >= k else 0
    take = [min(c, round(q)) for c, q in zip(counts, quota)]
    if sum(take) == n and min(take) >= floor1:
        return take
    take = [min(c, max(floor1, math.floor(q))) for c, q in zip(counts, quota)]
    while sum(take) > n:  # the most over-served class with a row to spare gives one back
        i = max((j for j in range(k) if take[j] > floor1), key=lambda j: (take[j] - quota[j], -j))
        take[i] -= 1
    while sum(take) < n:  # the most under-served class with rows left gets one more
        i = max((j for j in range(k) if take[j] < counts[j]), key=lambda j: (quota[j] - take[j], -j))
        take[i] += 1
    return take


def stratified_sample(polarity: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Deterministic stratified subsample of exactly ``n`` indices (all of them when n >= len), every
    class kept where ``n`` allows (:func:`sample_quotas`)."""
    polarity = np.asarray(polarity)
    if n >= len(polarity):
        return np.arange(len(polarity))
    if n <= 0:
        raise InputError(f"sample size must be positive, got {n}")
    rng = _rng(seed + 7919)
    classes = sorted(set(polarity.tolist()))
    members = [np.flatnonzero(polarity == p) for p in classes]
    out = []
    for idx, k in zip(members, sample_quotas([len(m) for m in members], n)):
        out.append(idx[np.sort(rng.permutation(len(idx))[:k])])
    return np.sort(np.concatenate(out))


def summary(corpus: Corpus, max_problems: int = 20) -> dict:
    """What `tinysent data check` prints for one file."""
    lengths = np.fromiter((len(t) for t in corpus.texts), dtype=np.int64, count=len(corpus))
    kinds = Counter(p.kind for p in corpus.problems)
    pct = {}
    if len(lengths):
        for q in (5, 50, 95, 99, 100):
            pct[f"p{q}"] = int(np.percentile(lengths, q))
    return {
        "file": corpus.source,
        "columns": corpus.columns,
        "rows": len(corpus),
        "labels": corpus.label_counts(),
        "binary_rows": len(corpus) - corpus.n_neutral,
        "malformed": {"total": len(corpus.problems), **dict(kinds)},
        "malformed_examples": [
            {"line": p.line, "kind": p.kind, "detail": p.detail} for p in corpus.problems[:max_problems]
        ],
        **duplicate_stats(corpus),
        "text_chars": pct,
    }


def write_csv(corpus: Corpus, path: str | os.PathLike) -> None:
    """Write the 2-column ``polarity,text`` form (compressed for .gz / .xz), latin-1, all quoted."""
    path = Path(path)
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    with opener(path, "wt", encoding="latin-1", errors="strict", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for p, t in zip(corpus.polarity.tolist(), corpus.texts):
            w.writerow([p, t])
