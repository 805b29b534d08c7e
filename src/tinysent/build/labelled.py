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
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinysent.core.errors import DataError, InputError, MissingFileError, missing_extra

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
    returns (id, name) pairs in file order."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
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


def sentiment_folder(path: str | os.PathLike) -> bool:
    """A TweetEval *sentiment* folder (mapping negative / neutral / positive), which has its own
    readers and 3-class report (:mod:`.semeval`), as opposed to another TweetEval task."""
    p = Path(path)
    mapping = p / "mapping.txt"
    if not p.is_dir():
        return False
    if not mapping.exists():
        return True  # the sentiment folder as the project has always read it
    return [n for _, n in read_mapping(mapping)] == ["negative", "neutral", "positive"]


def _pick(columns: list[str], wanted: str | None, candidates, what: str, option: str, source) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise DataError(
                f"{source} has no column {wanted!r} (columns: {', '.join(columns)}); fix {option}"
            )
        return wanted
    lower = {c.lower(): c for c in columns}
    for c in candidates:
        if c in lower:
            return lower[c]
    raise DataError(
        f"{source} has no {what} column (looked for {', '.join(candidates)}; columns: "
        f"{', '.join(columns) or 'none'}): name it with {option}"
    )


def _rows_delimited(path: Path, delimiter: str, text_col, label_col):
    """(line, text, label) per data row; problems for ragged rows."""
    rows, problems = [], []
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return rows, problems, None
        header = [h.strip().lstrip("\ufeff") for h in header]
        try:
            "".join(header).encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes, kept as surrogates: a UTF-16 or Latin-1 file
            raise DataError(f"{path}: the header row is not UTF-8 text: save the file as UTF-8") from None
        tcol = _pick(header, text_col, TEXT_COLUMNS, "text", "--text-column", path)
        lcol = _pick(header, label_col, LABEL_COLUMNS, "label", "--label-column", path)
        ti, li = header.index(tcol), header.index(lcol)
        line = reader.line_num
        for rec in reader:
            start, line = line + 1, reader.line_num
            if not rec or rec == [""]:
                continue
            if len(rec) != len(header):
                problems.append(Problem(start, "columns", f"{len(rec)} fields, the header has {len(header)}"))
                continue
            rows.append((start, rec[ti], rec[li]))
    return rows, problems, (tcol, lcol)


def _rows_jsonl(path: Path, text_col, label_col):
    rows, problems, cols = [], [], None
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                problems.append(Problem(n, "json", str(e)[:80]))
                continue
            if not isinstance(obj, dict):
                problems.append(Problem(n, "json", "not an object"))
                continue
            if cols is None:
                keys = list(obj)
                cols = (
                    _pick(keys, text_col, TEXT_COLUMNS, "text", "--text-column", path),
                    _pick(keys, label_col, LABEL_COLUMNS, "label", "--label-column", path),
                )
            if cols[0] not in obj or cols[1] not in obj:
                problems.append(Problem(n, "columns", f"no {cols[0]!r} or {cols[1]!r} key"))
                continue
            rows.append((n, obj[cols[0]], obj[cols[1]]))
    return rows, problems, cols


def _rows_parquet(path: Path, text_col, label_col):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise missing_extra("pyarrow", "parquet") from None
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow's errors are its own classes
        raise DataError(f"cannot read {path} as Parquet: {str(e).splitlines()[0][:200]}") from None
    columns = table.column_names
    tcol = _pick(columns, text_col, TEXT_COLUMNS, "text", "--text-column", path)
    lcol = _pick(columns, label_col, LABEL_COLUMNS, "label", "--label-column", path)
    texts, labels = table.column(tcol).to_pylist(), table.column(lcol).to_pylist()
    return [(i + 1, t, y) for i, (t, y) in enumerate(zip(texts, labels))], [], (tcol, lcol)


def _rows_tweeteval(folder: Path, split: str):
    tf, lf = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    if not tf.exists() or not lf.exists():
        have = sorted(s for s in SPLITS if (folder / f"{s}_text.txt").exists())
        raise MissingFileError(f"{folder} has no {split} split ({tf.name}, {lf.name}); it has {have}")
    texts = tf.read_text(encoding="utf-8", errors="surrogateescape").split("\n")
    labels = lf.read_text(encoding="utf-8").split("\n")
    for seq in (texts, labels):
        if seq and seq[-1] == "":
            seq.pop()
    if len(texts) != len(labels):
        raise DataError(f"{tf} has {len(texts):,} lines but {lf} has {len(labels):,}: they must pair up")
    return [(i + 1, t, y.strip()) for i, (t, y) in enumerate(zip(texts, labels))], [], ("text", "label")


def _label_key(y) -> str | None:
    """A label as its string key: integers (and integral floats, from Parquet or JSON) without '.0'."""
    if y is None or isinstance(y, bool):
        return None if y is None else str(y).lower()
    if isinstance(y, float):
        return str(int(y)) if y.is_integer() else str(y)
    s = str(y).strip()
    return s or None


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
    if not p.exists():
        raise MissingFileError(f"no such file or folder: {p}")
    fmt = data_format(p)
    if fmt == "tweeteval":
        rows, problems, _ = _rows_tweeteval(p, split)
        if mapping is None and (p / "mapping.txt").exists():
            mapping = p / "mapping.txt"
    elif fmt in ("csv", "tsv"):
        rows, problems, _ = _rows_delimited(p, "," if fmt == "csv" else "\t", text_column, label_column)
    elif fmt == "jsonl":
        rows, problems, _ = _rows_jsonl(p, text_column, label_column)
    else:
        rows, problems, _ = _rows_parquet(p, text_column, label_column)
    pairs = read_mapping(mapping) if mapping is not None else None
    id_to_name = dict(pairs) if pairs else {}
    texts, keys, lines = [], [], []
    for line, text, y in rows:
        if not isinstance(text, str):
            problems.append(Problem(line, "empty", f"text is {type(text).__name__}, not a string"))
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(Problem(line, "undecodable", "the text is not valid UTF-8"))
            continue
        if not text.strip():
            problems.append(Problem(line, "empty", "empty text"))
            continue
        key = _label_key(y)
        if key is None:
            problems.append(Problem(line, "label", "missing label"))
            continue
        if pairs is not None:
            if key in id_to_name:
                key = id_to_name[key]
            elif key not in id_to_name.values():
                problems.append(Problem(line, "label", f"{key!r} is not in the mapping {mapping}"))
                continue
        texts.append(text)
        keys.append(key)
        lines.append(line)
    source = f"{p}" + (f" ({split})" if fmt == "tweeteval" else "")
    if names is None:
        if pairs is not None:
            names = tuple(n for _, n in pairs)
        else:
            found = set(keys)
            numeric = all(k.lstrip("-").isdigit() for k in found)
            names = tuple(sorted(found, key=(lambda k: int(k)) if numeric else None))
    else:
        unseen = sorted(set(keys) - set(names))
        if unseen:
            raise DataError(
                f"{source} has labels the model was not trained on: {', '.join(map(repr, unseen[:5]))} "
                f"(it knows {', '.join(names)}); fix the labels or pass --label-mapping"
            )
    index = {n: i for i, n in enumerate(names)}
    labels = np.array([index[k] for k in keys], dtype=np.int64)
    return Labelled(texts, labels, tuple(names), np.array(lines, dtype=np.int64), source, problems)
