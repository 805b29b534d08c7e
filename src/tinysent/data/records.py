"""Users' labelled files read record by record: CSV / TSV (:mod:`tinysent.core.tables`), JSONL,
Parquet and TweetEval folders, each row yielded as (line, text, label) or a :class:`Problem` with its
line number, holding one row at a time. :mod:`.labelled` builds datasets (and ``data check``'s counts)
on this stream; a label mapping and the file-type rules live here too."""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from tinysent.core.errors import DataError, InputError, MissingFileError, missing_extra
from tinysent.core.tables import delimited_records, duplicate_column

TEXT_COLUMNS = ("text", "tweet", "sentence", "content", "message")
LABEL_COLUMNS = ("label", "labels", "class", "category", "sentiment", "target")
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Problem:
    """A row a reader left out, and why: every reader's (users' files, Sentiment140, SemEval)."""

    line: int  # 1-based line (CSV/TSV/JSONL/TweetEval/Sentiment140) or row number (Parquet)
    # users' files: columns, empty, label, json, undecodable; Sentiment140 and SemEval also polarity,
    # placeholder, duplicate_id
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}: {self.detail}"


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
            elif rec:  # a blank line holds no row
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
