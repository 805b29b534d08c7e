"""Hand-labelled 3-class tweets: the SemEval 2013–2016 Task 4A training material and the TweetEval
sentiment benchmark (validation and test). Both read into the same
:class:`~tinysent.data.sentiment140.Corpus` as
Sentiment140, with polarity codes 0 / 2 / 4 for negative / neutral / positive.

Quirks handled (see each data folder's README): SemEval rows whose text is the placeholder
``Not Available`` (deleted tweets) are dropped, and so are repeated tweet ids (the first is kept);
both are counted in ``Corpus.problems``. :func:`drop_overlap` removes training texts that also
appear in an evaluation set (after normalisation, which also maps TweetEval's anonymised ``@user`` /
``http`` and raw mentions and links to the same form).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from tinysent.core.errors import DataError, InputError
from tinysent.core.labels import SENTIMENT3
from tinysent.data.records import Problem
from tinysent.data.sentiment140 import Corpus

SEMEVAL_CODES = {"negative": 0, "neutral": 2, "positive": 4}
PLACEHOLDER = "Not Available"
TWEETEVAL_SPLITS = ("val", "test")
#: class index of a 3-class model → label; Sentiment140 polarity p maps to index p // 2
LABELS3 = SENTIMENT3  # class 0, 1, 2 of a 3-class row (core/labels.py names them once)


def semeval_files(path: Path) -> list[Path]:
    """The SemEval files a path names: the file, or a folder's ``*-A.tsv`` (else ``*.tsv``) files."""
    if path.is_dir():
        files = sorted(path.glob("*-A.tsv")) or sorted(path.glob("*.tsv"))
        if not files:
            raise DataError(f"{path} holds no SemEval .tsv files (id TAB label TAB text)")
        return files
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    return [path]


def read_semeval(path: str | os.PathLike, exclude=(), only=None) -> Corpus:
    """A SemEval Task 4A file (``id<TAB>label<TAB>text``, UTF-8, no header) or a folder of them
    (without the files named in ``exclude``; with ``only``, just the files named there).

    Placeholder rows and repeated ids are dropped and listed in ``problems`` (kinds ``placeholder``,
    ``duplicate_id``); rows with a bad label or column count too (``polarity``, ``columns``)."""
    files = [f for f in semeval_files(Path(path)) if f.name not in exclude]
    files = [f for f in files if only is None or f.name in only]
    if not files:
        raise DataError(f"{path}: no SemEval file left to read (every one is held out, or none is named)")
    texts, pols, lines, problems, seen = [], [], [], [], set()
    for f in files:
        raw = f.read_bytes()
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"{f}: not UTF-8 at byte {e.start}; SemEval files are UTF-8") from e
        for n, line in enumerate(content.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 3:
                problems.append(
                    Problem(n, "columns", f"{f.name}: expected id, label, text; found {len(parts)}")
                )
                continue
            tid, label, text = parts[0].strip(), parts[1].strip().lower(), "\t".join(parts[2:]).strip()
            code = SEMEVAL_CODES.get(label)
            if code is None:
                problems.append(Problem(n, "polarity", f"{f.name}: unknown label {label[:20]!r}"))
                continue
            if text == PLACEHOLDER or not text:
                problems.append(Problem(n, "placeholder", f"{f.name}: text is {text or 'empty'!r}"))
                continue
            if tid in seen:
                problems.append(Problem(n, "duplicate_id", f"{f.name}: tweet id {tid} seen before"))
                continue
            seen.add(tid)
            texts.append(text)
            pols.append(code)
            lines.append(n)
    where = str(path) if len(files) > 1 else str(files[0])
    return Corpus(texts, np.asarray(pols, np.int8), np.asarray(lines, np.int64), where, 3, problems)


def read_tweeteval(path: str | os.PathLike, split: str = "val") -> Corpus:
    """TweetEval sentiment ``split`` (val or test) from its folder: ``{split}_text.txt`` and
    ``{split}_labels.txt``, one tweet / one label (0, 1, 2) per line, in the same order."""
    if split not in TWEETEVAL_SPLITS:
        raise InputError(f"TweetEval split must be one of {TWEETEVAL_SPLITS}, got {split!r}")
    folder = Path(path)
    from tinysent.data.labelled import folder_mapping, read_mapping

    mapping = folder_mapping(folder)
    names = [n for _, n in read_mapping(mapping)]
    if names != list(LABELS3):
        raise DataError(
            f"{mapping} names {', '.join(names)}, not TweetEval sentiment's negative, neutral, positive: "
            "read it as a labelled task (tinysent evaluate / train read such folders by their mapping)"
        )
    tf, lf = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    for f in (tf, lf):
        if not f.exists():
            raise DataError(f"{f}: missing; a TweetEval sentiment folder has {tf.name} and {lf.name}")
    texts = tf.read_text(encoding="utf-8").split("\n")
    labels = lf.read_text(encoding="utf-8").split("\n")
    while texts and texts[-1] == "":
        texts.pop()
    while labels and labels[-1].strip() == "":
        labels.pop()
    if len(texts) != len(labels):
        raise DataError(
            f"{tf.name} has {len(texts)} lines but {lf.name} has {len(labels)}: they must pair up"
        )
    pols = []
    for n, lab in enumerate(labels, start=1):
        if lab.strip() not in ("0", "1", "2"):
            raise DataError(f"{lf}, line {n}: label {lab[:20]!r} is not 0, 1 or 2")
        pols.append(int(lab) * 2)
    return Corpus(
        [t.strip() for t in texts], np.asarray(pols, np.int8), np.arange(1, len(texts) + 1), str(tf), 2, []
    )


def kind_of(path: str | os.PathLike) -> str:
    """``tweeteval``, ``semeval`` or ``sentiment140``: which reader a file or folder needs."""
    p = Path(path)
    if p.is_dir():
        if (p / "val_text.txt").exists() or (p / "test_text.txt").exists():
            return "tweeteval"
        if list(p.glob("*-A.tsv")):
            return "semeval"
        return "sentiment140"
    if p.name.endswith("_text.txt"):
        return "tweeteval"
    return "semeval" if p.suffix == ".tsv" else "sentiment140"


def fold(text: str, normalizer) -> str:
    """The form two texts are compared in: normalised (mentions, links), lower case, spaces folded."""
    return re.sub(r"\s+", " ", normalizer(text)).strip().lower()


def drop_overlap(corpus: Corpus, others: list[str], normalizer) -> tuple[Corpus, int]:
    """``corpus`` without the rows whose folded text is among ``others``; and how many went."""
    held = {fold(t, normalizer) for t in others}
    keep = [i for i, t in enumerate(corpus.texts) if fold(t, normalizer) not in held]
    return corpus.subset(keep), len(corpus) - len(keep)


def validation3(tweeteval_data, handlabelled_data=None, holdout=()) -> tuple[Corpus, str]:
    """The 3-class validation split a model is selected, calibrated and parity-checked on, and its
    name: the hand-labelled files held out of its training (``holdout``, deduplicated), else
    TweetEval's validation split. One rule, read from a run's options or a saved model's config."""
    if holdout:
        from tinysent.data import sentiment140 as D

        held = read_semeval(handlabelled_data, only=set(holdout))
        held = D.deduplicate(held, drop_duplicates=True, drop_conflicts=True)
        return held, "held-out " + ", ".join(holdout)
    return read_tweeteval(tweeteval_data, "val"), "TweetEval validation"


def validation3_of(config: dict) -> tuple[Corpus, str]:
    """:func:`validation3` as a saved model's config names it (calibrate, export's agreement check)."""
    c = config
    return validation3(c["tweeteval_data"], c.get("handlabelled_data"), c.get("handlabelled_holdout"))


def classes3(polarity: np.ndarray) -> np.ndarray:
    """Polarity codes 0 / 2 / 4 → class indices 0 / 1 / 2 (negative / neutral / positive)."""
    return (np.asarray(polarity) // 2).astype(np.int64)


def corpora(path: str | os.PathLike, strict: bool = False):
    """(name, read()) for each corpus in a file or folder, by its kind: the TweetEval splits present,
    a SemEval file or folder, or Sentiment140 (both members of the official zip)."""
    from tinysent.data import sentiment140 as D

    path = Path(path)
    kind = kind_of(path)
    if kind == "tweeteval":
        folder = path if path.is_dir() else path.parent
        return [
            (s, lambda s=s: read_tweeteval(folder, s))
            for s in TWEETEVAL_SPLITS
            if (folder / f"{s}_text.txt").exists()
        ]
    if kind == "semeval":
        return [(None, lambda: read_semeval(path))]
    members = [D.TRAIN_MEMBER, D.TEST_MEMBER] if path.suffix == ".zip" else [None]
    return [(m, lambda m=m: D.read(path, member=m, strict=strict)) for m in members]
