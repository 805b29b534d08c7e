"""``tinysent predict``: label texts with the shipped model (or any model folder)."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass

from tinysent.apps.cli.options import BACKEND_HELP, BACKENDS, MODEL_HELP
from tinysent.core.errors import InputError
from tinysent.core.meta import RECHECK_MARGIN
from tinysent.data.config import option


@dataclass
class PredictOptions:
    texts: list[str] = option(
        None, "texts to label (or use --input FILE, or pipe them on stdin)", cli="positional"
    )
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    backend: str = option("auto", BACKEND_HELP, choices=BACKENDS)
    precision: str = option(
        "auto", "which ONNX file: auto (int8 when present), int8 or fp32", choices=("auto", "int8", "fp32")
    )
    input: str | None = option(
        None,
        "a .txt (one text a line), .csv/.tsv, .jsonl or .parquet file; with --engine ray also a folder, "
        "a glob or an fsspec URL (s3://...)",
        metavar="FILE",
    )
    column: str = option("text", "text column of a CSV/JSONL input")
    output: str | None = option(
        None,
        "stream --input into this .csv/.jsonl/.parquet file (constant memory); with --engine ray, a "
        "folder (or fsspec URL) that gets one shard per input file",
        metavar="PATH",
    )
    engine: str = option(
        "local",
        "local: this process; ray: Ray Data actors (pip install 'tinysent[ray]')",
        choices=("local", "ray"),
    )
    workers: int = option(2, "--engine ray: actors, each with its own model copy and one CPU")
    address: str | None = option(
        None, "--engine ray: the cluster to join (default: $RAY_ADDRESS, else a local Ray on loopback)"
    )
    shard_format: str = option(
        "parquet", "--engine ray: format of the output shards", choices=("parquet", "csv", "jsonl")
    )
    id_column: str | None = option(None, "column passed through to --output (default: the line number)")
    resume: bool = option(False, "continue an interrupted --output run")
    strict: bool = option(False, "stop at the first bad input line")
    format: str = option("jsonl", "output format on stdout", choices=("jsonl", "csv"))
    batch_size: int = option(256, "at most this many texts per model call")
    max_tokens: int | None = option(
        None,
        "at most this many padded tokens per model call; default: 4096 for int8 ONNX (faster; int8 scales "
        "activations per call, so it moves int8 results a little), none otherwise; 0: no cap",
    )
    recheck_margin: float | None = option(
        None,
        "int8 ONNX: rescore in fp32 the tweets whose int8 logits lie within this many logits of another "
        f"label (default: the export's own, {RECHECK_MARGIN} for the shipped model; 0: int8 alone)",
    )
    binary: bool = option(False, "3-class models: answer negative / positive by P(pos) vs P(neg)")
    neutral_band: list[float] | None = option(
        None,
        "label 'neutral' when LO < P(positive) < HI (default: the model's own band, if any)",
        nargs=2,
        metavar=("LO", "HI"),
    )
    explain: bool = option(
        False,
        "add each word's weight toward the label (occlusion: the label's probability with the tweet minus "
        "without the word); JSONL on stdout",
    )
    quiet: bool = option(False, "no progress bar")


HELP = "label texts (arguments, --input FILE or stdin); score big files with --output"
Options = PredictOptions


def read_inputs(args) -> tuple[list[str], list[dict]]:
    """(texts, input rows) from arguments, --input (read as --output runs read it) or stdin: a
    table's rows keep every column; a plain text's row is ``{"text": TEXT}``."""
    from tinysent.apps.inputs import read_rows, stdin_texts

    if args.input:
        rows = read_rows(args.input, args.column)
        return [r.text for r in rows], [r.fields if r.fields is not None else {"text": r.text} for r in rows]
    if args.texts:
        texts = list(args.texts)
    elif sys.stdin.isatty():
        raise InputError("give texts as arguments, --input FILE, or pipe them on stdin")
    else:
        texts = stdin_texts(sys.stdin.buffer.read())
    return texts, [{"text": t} for t in texts]


def beside(row: dict, answer: dict) -> dict:
    """The input row's columns, then the answer's (label, probabilities, ``empty``): an input column
    named like an answer column is kept as ``input_NAME``."""
    return {**{(f"input_{k}" if k in answer else k): v for k, v in row.items()}, **answer}


def run(args) -> int:
    from tinysent.runtime.predictor import load

    band = tuple(args.neutral_band) if args.neutral_band else None
    if args.engine == "ray":
        return _predict_on_ray(args, band)
    predictor = load(
        args.model,
        backend=args.backend,
        max_tokens="auto" if args.max_tokens is None else (args.max_tokens or None),
        precision=args.precision,
        recheck_margin=args.recheck_margin,
    )
    if args.explain and (args.output or args.format != "jsonl" or args.binary or band):
        raise InputError(
            "--explain writes JSONL records on stdout: drop --output / --format csv / --binary / "
            "--neutral-band"
        )
    if args.output:
        from tinysent.apps.score import score_file

        if not args.input:
            raise InputError("--output needs --input FILE")
        counts = score_file(
            predictor,
            args.input,
            args.output,
            column=args.column,
            id_column=args.id_column,
            batch_size=args.batch_size,
            resume=args.resume,
            strict=args.strict,
            neutral_band=band,
            progress=not args.quiet,
            binary=args.binary,
        )
        print(json.dumps({"output": args.output, **counts}), file=sys.stderr)
        return 0
    texts, rows = read_inputs(args)
    if args.explain:
        records = predictor.explain(texts, batch_size=args.batch_size)
    else:
        records = predictor.predict(texts, batch_size=args.batch_size, neutral_band=band, binary=args.binary)
    out = sys.stdout
    if args.format == "csv":  # the input's columns, then label, probabilities and the empty-text flag
        columns = predictor.labels.columns(args.binary)
        flag = {True: "true"}  # the empty-text flag: "true", or an empty cell
        table = [
            beside(
                row,
                {
                    "label": r["label"],
                    **{c: f"{r[c]:.6f}" for c in columns},
                    "empty": flag.get(r.get("empty"), ""),
                },
            )
            for row, r in zip(rows, records)
        ]
        names = dict.fromkeys(k for t in table for k in t)  # JSONL rows may differ: every column, in order
        w = csv.DictWriter(out, fieldnames=list(names) or ["text", "label", *columns, "empty"])
        w.writeheader()
        w.writerows(table)
    else:
        for row, r in zip(rows, records):
            out.write(json.dumps(beside(row, r), ensure_ascii=False, default=str) + "\n")
    return 0


def _predict_on_ray(args, band) -> int:
    from tinysent.apps.raydata import score_dataset

    if not (args.input and args.output):
        raise InputError("--engine ray needs --input (files, folder or glob) and --output FOLDER")
    if args.strict or args.resume or args.texts or args.max_tokens:
        raise InputError(
            "--engine ray writes an error record for bad rows and always skips complete shards: "
            "drop --strict / --resume / --max-tokens and text arguments"
        )
    summary = score_dataset(
        args.input,
        args.output,
        model=args.model,
        column=args.column,
        id_column=args.id_column,
        fmt=args.shard_format,
        workers=args.workers,
        batch_size=args.batch_size,
        address=args.address,
        backend=args.backend,
        precision=args.precision,
        binary=args.binary,
        neutral_band=band,
        progress=not args.quiet,
        recheck_margin=args.recheck_margin,
    )
    print(json.dumps(summary), file=sys.stderr)
    for f in summary["failed_files"]:  # the other files were scored; a rerun skips their shards
        print(f"error: {f['source']}: {f['error']}", file=sys.stderr)
    return 1 if summary["failed_files"] else 0
