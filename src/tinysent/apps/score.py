"""Batch scoring of large files in constant memory: stream in chunks, keep input order, pass an id
through, write an error record for a bad line and carry on (or stop with ``strict``), and resume an
interrupted run without rescoring what is already written."""

from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tinysent.core.errors import ScoreError


@dataclass
class Record:
    line: int
    id: str | int | None
    text: str | None
    error: str | None = None


def _decoded_lines(path: Path) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, error) per physical line; a line that is not UTF-8 is an error, not a crash."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                yield n, raw.decode("utf-8").rstrip("\r\n"), None
            except UnicodeDecodeError as e:
                yield n, None, f"not valid UTF-8 ({e.reason} at byte {e.start})"


def _check_columns(path: Path, names: list[str], column: str, id_column: str | None) -> None:
    if column not in names:
        raise ScoreError(f"{path} has no column {column!r}; it has {names}. Use --column NAME.")
    if id_column and id_column not in names:
        raise ScoreError(f"{path} has no id column {id_column!r}; it has {names}. Use --id-column NAME.")


def _parquet_records(path: Path, column: str, id_column: str | None) -> Iterator[Record]:
    """Rows of a Parquet file, read a record batch at a time; ``line`` is the 1-based row number."""
    pq = _pyarrow_parquet()
    try:
        f = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for a damaged file
        raise ScoreError(f"{path}: not a readable Parquet file ({e})") from None
    _check_columns(path, f.schema_arrow.names, column, id_column)
    n = 0
    for batch in f.iter_batches(batch_size=CHUNK, columns=[column] + ([id_column] if id_column else [])):
        texts = batch.column(column).to_pylist()
        ids = batch.column(id_column).to_pylist() if id_column else None
        for i, text in enumerate(texts):
            n += 1
            rid = ids[i] if ids is not None else n
            if isinstance(text, str):
                yield Record(n, rid, text)
            else:
                yield Record(n, rid, None, f"{column!r} is {'null' if text is None else 'not a string'}")


def _undecodable(field: str) -> int | None:
    """Index of the first character that stands for a byte that was not UTF-8 (surrogateescape)."""
    for i, ch in enumerate(field):
        if "\udc80" <= ch <= "\udcff":
            return i
    return None


def _csv_records(path: Path, delim: str, column: str, id_column: str | None) -> Iterator[Record]:
    """CSV / TSV records, parsed as records: a quoted field may hold newlines. ``line`` is the
    physical line a record starts on; a record with bytes that are not UTF-8 is an error record."""
    with open(path, "rb") as fb:
        f = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="surrogateescape", newline="")
        # strict: a quote left open at the end of the file (a truncated copy) or a stray character
        # after a closing quote is an error record, not text quietly scored
        reader = csv.reader(f, delimiter=delim, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise ScoreError(f"{path} is empty: a CSV input starts with a header row") from None
        except csv.Error as e:
            raise ScoreError(f"{path}: cannot read the header ({e})") from None
        if any(_undecodable(h) is not None for h in header):
            raise ScoreError(f"{path}: the header is not valid UTF-8")
        _check_columns(path, header, column, id_column)
        ci = header.index(column)
        ii = header.index(id_column) if id_column else None
        while True:
            n = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                yield Record(n, None, None, f"unparsable CSV record: {e}")
                continue
            bad = next(((j, k) for j, v in enumerate(row) if (k := _undecodable(v)) is not None), None)
            if bad is not None:
                yield Record(n, None, None, f"not valid UTF-8 (field {bad[0] + 1}, character {bad[1] + 1})")
                continue
            if len(row) != len(header):
                yield Record(n, None, None, f"expected {len(header)} fields, found {len(row)}")
                continue
            yield Record(n, row[ii] if ii is not None else n, row[ci])


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ScoreError("Parquet files need pyarrow: pip install 'tinysent[parquet]' (or pyarrow)") from None
    return pq


def read_records(path: str | Path, column: str = "text", id_column: str | None = None) -> Iterator[Record]:
    """Records of a .txt (one text a line), .jsonl, .csv/.tsv or .parquet file, in order, one per
    input line/row."""
    path = Path(path)
    if path.is_dir():
        raise ScoreError(f"{path} is a folder; name an input file (or use --engine ray for a folder)")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet_records(path, column, id_column)
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
            yield Record(n, rid, text, None if isinstance(text, str) else f"{column!r} is not a string")
    elif suffix in (".csv", ".tsv"):
        yield from _csv_records(path, "\t" if suffix == ".tsv" else ",", column, id_column)
    else:
        for n, line, err in _decoded_lines(path):
            yield Record(n, n, line, err)


def _count_done(out: Path, fmt: str) -> int:
    """Complete records already in ``out``; a torn last record is cut off so appending stays valid.
    CSV is counted in records, not lines: an id may hold a (quoted) newline."""
    if not out.exists():
        return 0
    data = out.read_bytes()
    if fmt != "csv":  # JSON escapes newlines: one line, one record
        if data and not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]
            out.write_bytes(data)
        return data.count(b"\n")
    text = data.decode("utf-8", errors="surrogateescape")
    lines = text.splitlines(keepends=True)
    consumed = 0

    def feed():
        nonlocal consumed
        for line in lines:
            consumed += len(line)
            yield line

    ends = []  # character offset after each complete record
    reader = csv.reader(feed(), strict=True)
    try:
        for _ in reader:
            ends.append(consumed)
    except csv.Error:
        pass  # a record torn inside a quoted field
    while ends and not text[: ends[-1]].endswith(("\n", "\r")):
        ends.pop()  # the last record has no line end: torn
    keep = ends[-1] if ends else 0
    if keep != len(text):
        out.write_bytes(text[:keep].encode("utf-8", errors="surrogateescape"))
    return max(0, len(ends) - 1)


OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}


def output_format(path: Path) -> str:
    """csv, jsonl or parquet, from the output file's suffix; anything else is refused (not guessed)."""
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ScoreError(
            f"{path}: unknown output format {path.suffix or '(no suffix)'!r}; "
            f"name the file .csv, .jsonl or .parquet"
        )
    return fmt


def partial_path(path: Path) -> Path:
    """Where a run writes until it succeeds; ``path`` itself is only ever replaced whole."""
    return path.with_name(path.name + ".partial")


class _Writer:
    """Score records into ``NAME.partial``, renamed to ``NAME`` when the run succeeds, so a failed or
    interrupted run never harms an existing output. CSV / JSONL are appended and flushed chunk by
    chunk (a failed run keeps its partial file, which ``--resume`` continues); Parquet is written a
    row group per chunk and is only readable once its footer is written (a failed run deletes it)."""

    FIELDS = ("id", "line", "label", "positive", "error")
    FIELDS3 = ("id", "line", "label", "negative", "neutral", "positive", "error")  # 3-class models

    def __init__(self, path: Path, append: bool, three_class: bool = False, int_ids: bool = True):
        self.fields = self.FIELDS3 if three_class else self.FIELDS
        self.path, self.partial = path, partial_path(path)
        self.fmt = output_format(path)
        self.rows: list[dict] = []
        if self.fmt == "parquet":
            import pyarrow as pa

            self.pq = _pyarrow_parquet()
            kinds = {"id": pa.int64() if int_ids else pa.string(), "line": pa.int64(), "label": pa.string()}
            kinds |= {"error": pa.string()} | {k: pa.float64() for k in ("negative", "neutral", "positive")}
            self.schema = pa.schema([(k, kinds[k]) for k in self.fields])
            self.int_ids = int_ids
            self.f = self.pq.ParquetWriter(self.partial, self.schema)
            return
        new = not append or not self.partial.exists() or self.partial.stat().st_size == 0
        self.f = open(self.partial, "a" if append else "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close)
        self.csv = csv.writer(self.f) if self.fmt == "csv" else None
        if self.csv and new:
            self.csv.writerow(self.fields)

    def write(self, rec: dict) -> None:
        if self.fmt == "parquet":
            self.rows.append(rec)
        elif self.csv:
            row = []
            for k in self.fields:
                v = rec.get(k)
                row.append(f"{v:.6f}" if isinstance(v, float) else ("" if v is None else v))
            self.csv.writerow(row)
        else:
            self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def _id(self, v):
        if v is None or self.int_ids:
            return v
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)

    def flush(self) -> None:
        if self.fmt != "parquet":
            self.f.flush()
            return
        if self.rows:
            import pyarrow as pa

            cols = {k: [r.get(k) for r in self.rows] for k in self.fields}
            cols["id"] = [self._id(v) for v in cols["id"]]
            self.f.write_table(pa.table(cols, schema=self.schema))
            self.rows.clear()

    def close(self, ok: bool = True) -> None:
        """Close; the partial file replaces ``path`` only when the run succeeded (``ok``)."""
        if ok:
            self.flush()
        self.f.close()
        if ok:
            self.partial.replace(self.path)
        elif self.fmt == "parquet":
            self.partial.unlink(missing_ok=True)


def _count_rows(path: Path) -> int:
    """Records in ``path`` for the progress bar: Parquet's row count, else its lines (less a header)."""
    if path.suffix.lower() == ".parquet":
        return _pyarrow_parquet().ParquetFile(path).metadata.num_rows
    with open(path, "rb") as f:
        n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return max(0, n - 1) if path.suffix.lower() in (".csv", ".tsv") else n


def _integer_column(path: Path, column: str) -> bool:
    """Is ``column`` of a Parquet input an integer column? (Its ids then stay integers in Parquet
    output; ids from CSV / JSONL are written as strings.)"""
    if path.suffix.lower() != ".parquet":
        return False
    import pyarrow as pa

    return pa.types.is_integer(_pyarrow_parquet().ParquetFile(path).schema_arrow.field(column).type)


# Tweets held at once. Each chunk is sorted by length before batching, so bigger chunks pad less
# (4,096 left about four times the padding of 16,384 on Sentiment140 tweets); 16k tweets and their
# scores are a few MB, still constant memory.
CHUNK = 16384


def score_file(
    predictor,
    input: str | Path,
    output: str | Path,
    column: str = "text",
    id_column: str | None = None,
    batch_size: int = 256,
    chunk: int = CHUNK,
    resume: bool = False,
    strict: bool = False,
    neutral_band=None,
    progress: bool = True,
    binary: bool = False,
) -> dict:
    """Score ``input`` into ``output`` (.csv or .jsonl) chunk by chunk; returns counts. A 3-class
    model writes all three probabilities (``binary``: its negative / positive answer instead)."""
    from tqdm.auto import tqdm

    input, output = Path(input), Path(output)
    if input.resolve() == output.resolve():
        raise ScoreError("--output must differ from --input")
    if output.is_dir():
        raise ScoreError(f"--output {output} is a folder; name a .csv, .jsonl or .parquet file")
    fmt = output_format(output)
    if resume and fmt == "parquet":
        raise ScoreError(
            f"{output}: --resume continues .csv/.jsonl outputs; a Parquet file is written whole "
            "(rerun without --resume, or write .jsonl)"
        )
    records = read_records(input, column, id_column)
    first = next(records, None)  # opens and checks the input (columns) before any output is touched
    if resume and not partial_path(output).exists() and output.exists():
        shutil.copyfile(output, partial_path(output))  # a finished output (or one from before .partial)
    done = _count_done(partial_path(output), fmt) if resume else 0
    writer = _Writer(
        output,
        append=resume,
        three_class=predictor.three_class and not binary,
        int_ids=id_column is None or _integer_column(input, id_column),
    )
    total = _count_rows(input)
    bar = tqdm(total=max(total, 0), initial=done, unit="tweet", desc="score", disable=not progress)
    counts = {"skipped_already_done": done, "scored": 0, "errors": 0}
    buf: list[Record] = []

    def flush():
        good = [r for r in buf if r.error is None]
        texts = [r.text for r in good]
        preds = iter(predictor.predict(texts, batch_size, neutral_band, binary) if good else [])
        for r in buf:
            if r.error is None:
                writer.write({"id": r.id, "line": r.line, **next(preds)})
                counts["scored"] += 1
            else:
                writer.write({"id": r.id, "line": r.line, "error": r.error})
                counts["errors"] += 1
        writer.flush()
        bar.update(len(buf))
        buf.clear()

    ok = False
    try:
        for i, rec in enumerate(itertools.chain([first] if first else [], records)):
            if i < done:
                continue
            if rec.error and strict:
                flush()
                raise ScoreError(
                    f"{input}, line {rec.line}: {rec.error} (drop --strict to write an error record "
                    "and carry on; rerun with --resume to continue after fixing it)"
                )
            buf.append(rec)
            if len(buf) >= chunk:
                flush()
        flush()
        ok = True
    finally:
        writer.close(ok)
        bar.close()
    return counts


def read_texts(path: str | Path, column: str = "text") -> list[str]:
    """All texts of an input file (txt / csv / tsv / jsonl / parquet, read as :func:`score_file`
    reads it); a bad line is an error naming it (``score_file`` writes an error record instead)."""
    texts = []
    for r in read_records(path, column):
        if r.error == "empty line":  # blank JSONL lines hold no record
            continue
        if r.error:
            raise ScoreError(
                f"{path}, line {r.line}: {r.error} (fix it, or use --output FILE, which "
                "writes an error record for such lines and carries on)"
            )
        texts.append(r.text)
    return texts


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
