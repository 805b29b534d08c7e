"""Reading texts to score: txt, CSV/TSV, JSONL and Parquet files (one record per line or row, bad
lines as error records with their line numbers), and stdin."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tinysent.core.errors import DataError, ScoreError
from tinysent.core.tables import delimited_records, duplicate_column

CHUNK = 16384  # rows per Parquet batch and per scoring chunk


@dataclass
class Record:
    line: int
    id: str | int | None
    text: str | None
    error: str | None = None
    fields: dict | None = None  # the input row's columns (CSV / TSV / JSONL / Parquet), when asked for


def _decoded_lines(path: Path) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, error) per physical line; a line that is not UTF-8 is an error, not a crash."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark is not text
                raw = raw[3:]
            try:
                yield n, raw.decode("utf-8").rstrip("\r\n"), None
            except UnicodeDecodeError as e:
                yield n, None, f"not valid UTF-8 ({e.reason} at byte {e.start})"


def _check_columns(path: Path, names: list[str], column: str, id_column: str | None) -> None:
    if column not in names:
        raise ScoreError(f"{path} has no column {column!r}; it has {names}. Use --column NAME.")
    if id_column and id_column not in names:
        raise ScoreError(f"{path} has no id column {id_column!r}; it has {names}. Use --id-column NAME.")


def _parquet_records(
    path: Path, column: str, id_column: str | None, all_fields: bool = False
) -> Iterator[Record]:
    """Rows of a Parquet file, read a record batch at a time; ``line`` is the 1-based row number."""
    pq = pyarrow_parquet()
    try:
        f = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for a damaged file
        raise ScoreError(f"{path}: not a readable Parquet file ({e})") from None
    _check_columns(path, f.schema_arrow.names, column, id_column)
    n = 0
    wanted = None if all_fields else [column] + ([id_column] if id_column else [])
    for batch in f.iter_batches(batch_size=CHUNK, columns=wanted):
        texts = batch.column(column).to_pylist()
        ids = batch.column(id_column).to_pylist() if id_column else None
        rows = batch.to_pylist() if all_fields else None
        for i, text in enumerate(texts):
            n += 1
            rid = ids[i] if ids is not None else n
            if isinstance(text, str):
                yield Record(n, rid, text, fields=rows[i] if rows is not None else None)
            else:
                yield Record(n, rid, None, f"{column!r} is {'null' if text is None else 'not a string'}")


def _undecodable(field: str) -> int | None:
    """Index of the first character that stands for a byte that was not UTF-8 (surrogateescape)."""
    for i, ch in enumerate(field):
        if "\udc80" <= ch <= "\udcff":
            return i
    return None


def _csv_records(path: Path, delim: str, column: str, id_column: str | None) -> Iterator[Record]:
    """CSV / TSV records (:func:`tinysent.core.tables.delimited_records`: a quoted field may hold
    newlines, a quote left open costs its own row only). ``line`` is the physical line a record
    starts on; a record with bytes that are not UTF-8 is an error record."""
    with open(path, "rb") as fb:
        f = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="surrogateescape", newline="")
        records = delimited_records(f, delim)
        first = next(records, None)
        if first is None:
            raise ScoreError(f"{path} is empty: a CSV input starts with a header row")
        if first[1] is None:
            raise ScoreError(f"{path}: cannot read the header ({first[2]})")
        header = first[1]
        if any(_undecodable(h) is not None for h in header):
            raise ScoreError(f"{path}: the header is not valid UTF-8")
        _check_columns(path, header, column, id_column)
        for name in (column, id_column):
            if name:
                try:
                    duplicate_column(header, name, path)
                except DataError as e:
                    raise ScoreError(str(e)) from None
        ci = header.index(column)
        ii = header.index(id_column) if id_column else None
        for n, row, err in records:
            if row is None:
                yield Record(n, None, None, err)
                continue
            if not row:  # a blank line: a record with no fields, as every line is one
                yield Record(n, None, None, f"expected {len(header)} fields, found 0")
                continue
            bad = next(((j, k) for j, v in enumerate(row) if (k := _undecodable(v)) is not None), None)
            if bad is not None:
                yield Record(n, None, None, f"not valid UTF-8 (field {bad[0] + 1}, character {bad[1] + 1})")
                continue
            yield Record(n, row[ii] if ii is not None else n, row[ci], fields=dict(zip(header, row)))


def pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ScoreError("Parquet files need pyarrow: pip install 'tinysent[parquet]' (or pyarrow)") from None
    return pq


def read_records(
    path: str | Path, column: str = "text", id_column: str | None = None, all_fields: bool = False
) -> Iterator[Record]:
    """Records of a .txt (one text a line), .jsonl, .csv/.tsv or .parquet file, in order, one per
    input line/row; a table's records carry the row's columns (``fields``; every Parquet column is
    read only with ``all_fields``)."""
    path = Path(path)
    if path.is_dir():
        raise ScoreError(f"{path} is a folder; name an input file (or use --engine ray for a folder)")
    if not path.exists():
        raise ScoreError(f"{path}: no such file; name a .txt, .csv, .tsv, .jsonl or .parquet file of texts")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet_records(path, column, id_column, all_fields)
    elif suffix == ".jsonl":
        for n, line, err in _decoded_lines(path):
            if err:
                yield Record(n, None, None, err)
                continue
            if not line.strip():
                yield Record(n, None, None, "empty line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield Record(n, None, None, f"invalid JSON: {e.msg}")
                continue
            if not isinstance(obj, dict) or column not in obj:
                yield Record(n, None, None, f"no {column!r} field")
                continue
            rid = obj.get(id_column) if id_column else n
            text = obj[column]
            err = None if isinstance(text, str) else f"{column!r} is not a string"
            yield Record(n, rid, text, err, fields=obj)
    elif suffix in (".csv", ".tsv"):
        yield from _csv_records(path, "\t" if suffix == ".tsv" else ",", column, id_column)
    else:
        for n, line, err in _decoded_lines(path):
            yield Record(n, n, line, err)


def is_blank(r: Record) -> bool:
    """A blank line of an input file (a JSONL or CSV/TSV line with nothing on it)."""
    return r.error is not None and (r.error == "empty line" or r.error.endswith(" fields, found 0"))


def read_texts(path: str | Path, column: str = "text") -> list[str]:
    """All texts of an input file (txt / csv / tsv / jsonl / parquet, read as :func:`score_file`
    reads it); a bad line is an error naming it (``score_file`` writes an error record instead)."""
    return [r.text for r in read_rows(path, column)]


def read_rows(path: str | Path, column: str = "text") -> list[Record]:
    """:func:`read_texts`'s records, each with its input row's columns (``fields``; None for a .txt)."""
    rows = []
    for r in read_records(path, column, all_fields=True):
        if r.error == "empty line":  # blank JSONL lines hold no record
            continue
        if r.error:
            raise ScoreError(
                f"{path}, line {r.line}: {r.error} (fix it, or use --output FILE, which "
                "writes an error record for such lines and carries on)"
            )
        rows.append(r)
    return rows


def stdin_texts(data: bytes) -> list[str]:
    """Lines of stdin split as files are (on \\n only, a trailing \\r dropped: a form feed or U+2028
    stays inside its tweet), each checked to be UTF-8."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for n, raw in enumerate(lines, 1):
        try:
            out.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as e:
            raise ScoreError(
                f"stdin, line {n}: not valid UTF-8 (byte {e.start + 1} of the line: "
                f"{raw[e.start : e.start + 1]!r}); send UTF-8 text"
            ) from None
    return out
