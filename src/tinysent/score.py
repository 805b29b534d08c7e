"""Batch scoring of large files in constant memory: stream in chunks, keep input order, pass an id
through, write an error record for a bad line and carry on (or stop with ``strict``), and resume an
interrupted run without rescoring what is already written."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ScoreError(ValueError):
    pass


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


def read_records(path: str | Path, column: str = "text", id_column: str | None = None) -> Iterator[Record]:
    """Records of a .txt (one text a line), .jsonl or .csv/.tsv file, in order, one per input line/row."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
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
        delim = "\t" if suffix == ".tsv" else ","
        lines = _decoded_lines(path)
        n0, header_line, err = next(lines, (0, None, "empty file"))
        if err or header_line is None:
            raise ScoreError(f"{path}: cannot read the header ({err})")
        header = next(csv.reader([header_line], delimiter=delim))
        if column not in header:
            raise ScoreError(f"{path} has no column {column!r}; it has {header}. Use --column NAME.")
        if id_column and id_column not in header:
            raise ScoreError(f"{path} has no id column {id_column!r}; it has {header}. Use --id-column NAME.")
        ci = header.index(column)
        ii = header.index(id_column) if id_column else None
        for n, line, err in lines:
            if err:
                yield Record(n, None, None, err)
                continue
            try:
                row = next(csv.reader(io.StringIO(line), delimiter=delim))
            except (csv.Error, StopIteration) as e:
                yield Record(n, None, None, f"unparsable CSV line: {e}")
                continue
            if len(row) != len(header):
                yield Record(n, None, None, f"expected {len(header)} fields, found {len(row)}")
                continue
            yield Record(n, row[ii] if ii is not None else n, row[ci])
    else:
        for n, line, err in _decoded_lines(path):
            yield Record(n, n, line, err)


def _count_done(out: Path, fmt: str) -> int:
    """Complete records already in ``out``; a torn last line is cut off so appending stays valid."""
    if not out.exists():
        return 0
    data = out.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        out.write_bytes(data)
    n = data.count(b"\n")
    return max(0, n - 1) if fmt == "csv" else n


class _Writer:
    FIELDS = ("id", "line", "label", "positive", "error")
    FIELDS3 = ("id", "line", "label", "negative", "neutral", "positive", "error")  # 3-class models

    def __init__(self, path: Path, append: bool, three_class: bool = False):
        self.fields = self.FIELDS3 if three_class else self.FIELDS
        self.fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
        new = not append or not path.exists() or path.stat().st_size == 0
        self.f = open(path, "a" if append else "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close)
        self.csv = csv.writer(self.f) if self.fmt == "csv" else None
        if self.csv and new:
            self.csv.writerow(self.fields)

    def write(self, rec: dict) -> None:
        if self.csv:
            row = []
            for k in self.fields:
                v = rec.get(k)
                row.append(f"{v:.6f}" if isinstance(v, float) else ("" if v is None else v))
            self.csv.writerow(row)
        else:
            self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.f.close()


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


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
    fmt = "csv" if output.suffix.lower() == ".csv" else "jsonl"
    done = _count_done(output, fmt) if resume else 0
    if not resume and output.exists():
        output.unlink()
    writer = _Writer(output, append=resume, three_class=predictor.three_class and not binary)
    total = _count_lines(input) - (1 if input.suffix.lower() in (".csv", ".tsv") else 0)
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
        writer.f.flush()
        bar.update(len(buf))
        buf.clear()

    try:
        for i, rec in enumerate(read_records(input, column, id_column)):
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
    finally:
        writer.close()
        bar.close()
    return counts
