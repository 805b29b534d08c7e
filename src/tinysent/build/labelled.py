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
import itertools
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinysent.core.errors import DataError, InputError, MissingFileError, missing_extra
from tinysent.core.labels import check_label_names
from tinysent.core.tables import delimited_records, duplicate_column

TEXT_COLUMNS = ("text", "tweet", "sentence", "content", "message")
LABEL_COLUMNS = ("label", "labels", "class", "category", "sentiment", "target")
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line (CSV/TSV/JSONL/TweetEval) or row number (Parquet)
    kind: str  # "columns" | "empty" | "label" | "json" | "undecodable"
    detail: str


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
            "first_problems": [f"line {p.line}: {p.kind}: {p.detail}" for p in self.problems[:5]],
            "duplicates": dup,
            "conflicting_texts": conflicts,
        }

    def check_trainable(self) -> None:
        """Enough to learn from: rows, and at least two classes present."""
        if not len(self):
            raise DataError(f"{self.source} has no usable rows ({_problem_line(self.problems)})")
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
    return f"{len(problems):,} rows rejected, first at line {p.line}: {p.kind}: {p.detail}"


def read_mapping(path: str | os.PathLike) -> list[tuple[str, str]]:
    """A label mapping: ``id<TAB>name`` lines (TweetEval's mapping.txt) or a JSON object {id: name};
    returns (id, name) pairs in file order. A UTF-8 byte-order mark is not part of the first id."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise MissingFileError(f"cannot read the label mapping {path}: {e}") from None
    if raw.lstrip().startswith("{"):
        try:
            pairs = [(str(k), str(v)) for k, v in json.loads(raw).items()]
        except (ValueError, AttributeError) as e:
            raise DataError(f"{path}: not a JSON object of id: name ({e})") from None
    else:
        pairs = []
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            parts = line.strip().split("\t") if "\t" in line else line.split(None, 1)
            if len(parts) != 2:
                raise DataError(f"{path} line {n}: expected 'id<TAB>name', got {line!r}")
            pairs.append((parts[0].strip(), parts[1].strip()))
    ids, names = [a for a, _ in pairs], [b for _, b in pairs]
    if not pairs or len(set(ids)) != len(ids) or len(set(names)) != len(names):
        raise DataError(f"{path}: a label mapping needs distinct ids and distinct names (got {pairs})")
    return pairs


def data_format(path: str | os.PathLike) -> str:
    """csv, tsv, jsonl, parquet or tweeteval (a folder of {split}_text.txt + _labels.txt)."""
    p = Path(path)
    if p.is_dir():
        if (p / "train_text.txt").exists() or (p / "test_text.txt").exists():
            return "tweeteval"
        raise InputError(
            f"{p} is a folder without TweetEval files ({{train,val,test}}_text.txt and _labels.txt); "
            "name a CSV, TSV, JSONL or Parquet file"
        )
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise InputError(f"{p}: unknown file type {p.suffix!r}; use .csv, .tsv, .jsonl or .parquet")
    return fmt


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
    if not (p / "mapping.txt").exists():
        if not any((p / f"{s}_text.txt").exists() for s in SPLITS):
            return False
        raise DataError(
            f"{p} is a TweetEval folder without mapping.txt, so its label names are unknown: add "
            "mapping.txt (one 'id<TAB>name' line per label, e.g. '0<TAB>negative') or pass "
            "--label-mapping FILE"
        )
    return [n for _, n in read_mapping(p / "mapping.txt")] == ["negative", "neutral", "positive"]


def _pick(columns: list[str], wanted: str | None, candidates, what: str, option: str, source) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise DataError(
                f"{source} has no column {wanted!r} (columns: {', '.join(columns)}); fix {option}"
            )
        duplicate_column(columns, wanted, source)
        return wanted
    lower = {c.lower(): c for c in reversed(columns)}  # the first of a name
    for c in candidates:
        if c in lower:
            found = [x for x in columns if x.lower() == c]
            if len(found) > 1:
                raise DataError(
                    f"{source} has {len(found)} {what} columns ({', '.join(map(repr, found))}): which to "
                    f"read would be a guess; name it with {option} or rename the others"
                )
            return lower[c]
    raise DataError(
        f"{source} has no {what} column (looked for {', '.join(candidates)}; columns: "
        f"{', '.join(columns) or 'none'}): name it with {option}"
    )


# Each raw reader yields (line, text, label) per record, or a Problem, in file order, streaming.


def _rows_delimited(path: Path, delimiter: str, text_col, label_col):
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        records = delimited_records(f, delimiter)
        first = next(records, None)
        if first is None:
            return
        if first[1] is None:
            raise DataError(f"{path}: cannot read the header row ({first[2]})")
        header = [h.strip() for h in first[1]]
        try:
            "".join(header).encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes, kept as surrogates: a UTF-16 or Latin-1 file
            raise DataError(f"{path}: the header row is not UTF-8 text: save the file as UTF-8") from None
        tcol = _pick(header, text_col, TEXT_COLUMNS, "text", "--text-column", path)
        lcol = _pick(header, label_col, LABEL_COLUMNS, "label", "--label-column", path)
        ti, li = header.index(tcol), header.index(lcol)
        for line, rec, err in records:
            if rec is None:
                yield Problem(line, "columns", err)
            else:
                yield line, rec[ti], rec[li]


def _rows_jsonl(path: Path, text_col, label_col):
    cols = None
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                yield Problem(n, "json", str(e)[:80])
                continue
            if not isinstance(obj, dict):
                yield Problem(n, "json", "not an object")
                continue
            if cols is None:
                keys = list(obj)
                cols = (
                    _pick(keys, text_col, TEXT_COLUMNS, "text", "--text-column", path),
                    _pick(keys, label_col, LABEL_COLUMNS, "label", "--label-column", path),
                )
            if cols[0] not in obj or cols[1] not in obj:
                yield Problem(n, "columns", f"no {cols[0]!r} or {cols[1]!r} key")
                continue
            yield n, obj[cols[0]], obj[cols[1]]


def _rows_parquet(path: Path, text_col, label_col):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise missing_extra("pyarrow", "parquet") from None
    try:
        f = pq.ParquetFile(path)
        columns = f.schema_arrow.names
    except Exception as e:  # pyarrow's errors are its own classes
        raise DataError(f"cannot read {path} as Parquet: {str(e).splitlines()[0][:200]}") from None
    tcol = _pick(columns, text_col, TEXT_COLUMNS, "text", "--text-column", path)
    lcol = _pick(columns, label_col, LABEL_COLUMNS, "label", "--label-column", path)
    n = 0
    for batch in f.iter_batches(batch_size=16384, columns=[tcol, lcol]):
        for t, y in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
            n += 1
            yield n, t, y


def _lines(path: Path):
    """Lines of a TweetEval file split on \n only (a \r or U+2028 stays in its tweet), a BOM dropped."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            text = raw.decode("utf-8", errors="surrogateescape")
            yield text.lstrip("\ufeff") if n == 1 else text


def _rows_tweeteval(folder: Path, split: str):
    tf, lf = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    if not tf.exists() or not lf.exists():
        have = sorted(s for s in SPLITS if (folder / f"{s}_text.txt").exists())
        raise MissingFileError(f"{folder} has no {split} split ({tf.name}, {lf.name}); it has {have}")
    n_text = n_label = 0
    for i, (t, y) in enumerate(itertools.zip_longest(_lines(tf), _lines(lf)), 1):
        n_text += t is not None
        n_label += y is not None
        if t is not None and y is not None:
            yield i, t, y.strip()
    if n_text != n_label:
        raise DataError(f"{tf} has {n_text:,} lines but {lf} has {n_label:,}: they must pair up")


def _label_key(y) -> tuple[str | None, str | None]:
    """(a label as its string key, None) or (None, why it is no label): integers (and integral floats,
    from Parquet or JSON) without '.0'; a missing, NaN, list or object value is no label."""
    if y is None:
        return None, "missing label"
    if isinstance(y, bool):
        return str(y).lower(), None
    if isinstance(y, float):
        if not math.isfinite(y):
            return None, f"label is {y}, not a class"
        return (str(int(y)) if y.is_integer() else str(y)), None
    if not isinstance(y, (str, int)):
        return None, f"label is a {type(y).__name__} ({str(y)[:40]}), not a string or a number"
    s = str(y).strip()
    if s.lower() in ("nan", "null", "none"):
        return None, f"label is {s!r}, not a class"
    return (s, None) if s else (None, "missing label")


def iter_labelled(
    path: str | os.PathLike,
    split: str = "train",
    text_column: str | None = None,
    label_column: str | None = None,
):
    """(source, stream): the stream yields (line, text, label key) per usable row, or a
    :class:`Problem`, in file order, holding one row at a time (``data check`` counts a file of any
    size in flat memory). Labels are not yet checked against a mapping or a model's names."""
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"no such file or folder: {p}")
    fmt = data_format(p)
    if fmt == "tweeteval":
        rows = _rows_tweeteval(p, split)
    elif fmt in ("csv", "tsv"):
        rows = _rows_delimited(p, "," if fmt == "csv" else "\t", text_column, label_column)
    elif fmt == "jsonl":
        rows = _rows_jsonl(p, text_column, label_column)
    else:
        rows = _rows_parquet(p, text_column, label_column)
    source = f"{p}" + (f" ({split})" if fmt == "tweeteval" else "")

    def stream():
        for row in rows:
            if isinstance(row, Problem):
                yield row
                continue
            line, text, y = row
            if not isinstance(text, str):
                yield Problem(line, "empty", f"text is {type(text).__name__}, not a string")
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                yield Problem(line, "undecodable", "the text is not valid UTF-8")
                continue
            if not text.strip():
                yield Problem(line, "empty", "empty text")
                continue
            key, why = _label_key(y)
            if key is None:
                yield Problem(line, "label", why)
                continue
            yield line, text, key

    return source, stream()


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
        return tuple(names)
    found = sorted(keys)
    folded: dict[str, list[str]] = {}
    for k in found:
        folded.setdefault(" ".join(k.split()).casefold(), []).append(k)
    for variants in folded.values():
        if len(variants) > 1:
            shown = ", ".join(f"{v!r} ({keys[v]:,} rows, first at line {first_line[v]})" for v in variants)
            raise DataError(
                f"{source}: labels {shown} differ only in case or spaces: make them one label in the data "
                "(or list the distinct names in a --label-mapping file)"
            )
    numeric = all(k.lstrip("-").isdigit() for k in found)
    names = tuple(sorted(found, key=(lambda k: int(k)) if numeric else None))
    check_label_names(names, source)
    return names


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
    p = Path(path)
    source, stream = iter_labelled(p, split, text_column, label_column)
    if mapping is None and p.is_dir():
        if not (p / "mapping.txt").exists():
            sentiment_folder(p)  # the error: a TweetEval folder's names are never guessed
        mapping = p / "mapping.txt"
    pairs = read_mapping(mapping) if mapping is not None else None
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
    return Labelled(texts, labels, tuple(names), np.array(lines, dtype=np.int64), source, problems)


def check_labelled(
    path: str | os.PathLike,
    split: str = "train",
    text_column: str | None = None,
    label_column: str | None = None,
    mapping: str | os.PathLike | None = None,
) -> dict:
    """:meth:`Labelled.summary` of a file without holding it: rows are counted as they stream by, and
    duplicates found from a 64-bit hash of each text (12 bytes a row, not the texts)."""
    import hashlib
    from array import array

    p = Path(path)
    source, stream = iter_labelled(p, split, text_column, label_column)
    if mapping is None and p.is_dir():
        if not (p / "mapping.txt").exists():
            sentiment_folder(p)
        mapping = p / "mapping.txt"
    pairs = read_mapping(mapping) if mapping is not None else None
    id_to_name = dict(pairs) if pairs else {}
    counts: Counter = Counter()
    first_line: dict[str, int] = {}
    code: dict[str, int] = {}
    hashes, codes = array("Q"), array("l")
    kinds: Counter = Counter()
    first_problems: list[str] = []
    for row in stream:
        if isinstance(row, Problem):
            kinds[row.kind] += 1
            if len(first_problems) < 5:
                first_problems.append(f"line {row.line}: {row.kind}: {row.detail}")
            continue
        line, text, key = row
        key = id_to_name.get(key, key)
        counts[key] += 1
        first_line.setdefault(key, line)
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        hashes.append(int.from_bytes(digest, "little"))
        codes.append(code.setdefault(key, len(code)))
    names = _names_of(counts, first_line, source, mapping, pairs)
    h = np.frombuffer(hashes, dtype=np.uint64) if len(hashes) else np.zeros(0, np.uint64)
    c = np.frombuffer(codes, dtype=np.int64) if len(codes) else np.zeros(0, np.int64)
    order = np.lexsort((c, h))
    h, c = h[order], c[order]
    same_text = h[1:] == h[:-1]
    dup = int((same_text & (c[1:] == c[:-1])).sum())
    # texts seen with more than one label: groups of one hash holding two or more codes
    starts = np.flatnonzero(np.r_[True, ~same_text]) if len(h) else np.zeros(0, np.int64)
    distinct = np.r_[True, ~(same_text & (c[1:] == c[:-1]))] if len(h) else np.zeros(0, bool)
    per_group = np.add.reduceat(distinct.astype(np.int64), starts) if len(h) else np.zeros(0)
    return {
        "source": source,
        "rows": int(sum(counts.values())),
        "labels": {n: int(counts.get(n, 0)) for n in names},
        "problems": dict(kinds),
        "first_problems": first_problems,
        "duplicates": dup,
        "conflicting_texts": int((per_group > 1).sum()),
    }
