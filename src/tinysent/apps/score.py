"""Batch scoring of large files in constant memory: stream in chunks, keep input order, pass an id
through, write an error record for a bad line and carry on (or stop with ``strict``), and resume an
interrupted run without rescoring what is already written."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from contextlib import contextmanager
from pathlib import Path

from tinysent.apps.inputs import CHUNK, Record, pyarrow_parquet, read_records  # noqa: F401 (re-exported)
from tinysent.core.errors import ScoreError


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

    @staticmethod
    def fields_of(columns: tuple[str, ...]) -> tuple[str, ...]:
        """An output's columns around the probability ``columns`` (:meth:`LabelModel.columns`)."""
        return ("id", "line", "label", *columns, "error")

    def __init__(self, path: Path, append: bool, columns: tuple[str, ...], int_ids: bool = True):
        self.fields = self.fields_of(columns)
        self.path, self.partial = path, partial_path(path)
        self.fmt = output_format(path)
        self.rows: list[dict] = []
        if self.fmt == "parquet":
            import pyarrow as pa

            self.pq = pyarrow_parquet()
            kinds = {"id": pa.int64() if int_ids else pa.string(), "line": pa.int64(), "label": pa.string()}
            kinds |= {"error": pa.string()} | {k: pa.float64() for k in columns}
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


def _lock(partial: Path):
    """An exclusive lock on ``partial`` for this run (a second run into the same output is refused
    at once, before it touches anything); None where the OS has no ``flock``."""
    from tinysent.core.files import exclusive_lock

    busy = ScoreError(
        f"another run is writing {partial.with_suffix('')}: wait for it to finish, or name another --output"
    )
    return exclusive_lock(partial, busy)


def run_record(predictor, input: Path, column: str, id_column, neutral_band, binary: bool) -> dict:
    """What a scoring run's rows depend on: the model (its pinned files), the options and the input
    (size, modification time, and the sha256 of its first MiB): a resume must match all of it."""
    import hashlib

    st = input.stat()
    with open(input, "rb") as f:
        head = hashlib.sha256(f.read(1 << 20)).hexdigest()
    return {
        "model": predictor.meta.files or str(predictor.path),
        "weights": getattr(getattr(predictor.backend, "file", None), "name", "model.safetensors"),
        "labels": list(predictor.meta.labels),
        "recheck_margin": predictor.recheck_margin,
        "binary": bool(binary),
        "neutral_band": list(neutral_band) if neutral_band is not None else None,
        "column": column,
        "id_column": id_column,
        "input": {
            "path": str(input.resolve()),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "head_sha256": head,
        },
    }


def _record_path(output: Path) -> Path:
    return partial_path(output).with_name(partial_path(output).name + ".json")


def _check_resume(output: Path, record: dict, fields: tuple) -> None:
    """Refuse a resume whose model, options or input differ from the interrupted run's (recorded
    beside its partial file), or, for a finished output, whose columns differ."""
    saved = _record_path(output)
    if saved.exists():
        before = json.loads(saved.read_text())
        diff = sorted(k for k in set(before) | set(record) if before.get(k) != record.get(k))
        if diff:
            raise ScoreError(
                f"--resume of {output} with another {', '.join(diff)} than the interrupted run: the rows "
                "would not match; rerun with the same model, options and input, or without --resume"
            )
        return
    if output.exists() and output_format(output) == "csv":
        with open(output, encoding="utf-8", newline="") as f:
            header = next(csv.reader(f), None)
        if header is not None and tuple(header) != fields:
            raise ScoreError(
                f"--resume of {output}: its columns ({', '.join(header)}) are not this model's and options' "
                f"({', '.join(fields)}); rerun without --resume"
            )


@contextmanager
def _claim(output: Path, record: dict, resume: bool, fields: tuple):
    """Hold the output's partial file for this run: locked (:func:`_lock`), checked against the
    interrupted run on ``resume`` (:func:`_check_resume`), recorded for a later resume otherwise."""
    lock = _lock(partial_path(output))
    try:
        if resume:
            _check_resume(output, record, fields)
        if not resume or not _record_path(output).exists():
            _record_path(output).write_text(json.dumps(record) + "\n")
        yield
    finally:
        if lock is not None:
            lock.close()


def _count_rows(path: Path) -> int:
    """Records in ``path`` for the progress bar: Parquet's row count, else its lines (less a header)."""
    if path.suffix.lower() == ".parquet":
        return pyarrow_parquet().ParquetFile(path).metadata.num_rows
    with open(path, "rb") as f:
        n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return max(0, n - 1) if path.suffix.lower() in (".csv", ".tsv") else n


def _integer_column(path: Path, column: str) -> bool:
    """Is ``column`` of a Parquet input an integer column? (Its ids then stay integers in Parquet
    output; ids from CSV / JSONL are written as strings.)"""
    if path.suffix.lower() != ".parquet":
        return False
    import pyarrow as pa

    return pa.types.is_integer(pyarrow_parquet().ParquetFile(path).schema_arrow.field(column).type)


# Tweets held at once. Each chunk is sorted by length before batching, so bigger chunks pad less
# (4,096 left about four times the padding of 16,384 on Sentiment140 tweets); 16k tweets and their
# scores are a few MB, still constant memory.


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
    """Score ``input`` into ``output`` (.csv or .jsonl) chunk by chunk; returns counts. A model writes
    every label's probability (a negative/positive answer, or ``binary``: P(positive) alone). A run
    holds a lock on its partial file (a second run into the same output is refused) and records what
    its rows depend on beside it, which ``resume`` must match (:func:`run_record`)."""
    from tqdm.auto import tqdm

    input, output = Path(input), Path(output)
    if input.resolve() == output.resolve():
        raise ScoreError("--output must differ from --input")
    if input.resolve() == partial_path(output).resolve():
        raise ScoreError(
            f"--input {input} is --output's own partial file, which this run would overwrite: "
            "copy it elsewhere first, or name another --output"
        )
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
    columns = predictor.labels.columns(binary)
    record = run_record(predictor, input, column, id_column, neutral_band, binary)
    with _claim(output, record, resume, _Writer.fields_of(columns)):
        if resume and partial_path(output).stat().st_size == 0 and output.exists():
            shutil.copyfile(output, partial_path(output))  # a finished output (or one from before .partial)
        done = _count_done(partial_path(output), fmt) if resume else 0
        writer = _Writer(
            output,
            append=resume,
            columns=columns,
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
        if ok:
            _record_path(output).unlink(missing_ok=True)
        return counts
