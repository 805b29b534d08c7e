"""``tinysent`` command line: one sub-command per pipeline stage, each generated from a typed config.

Every option comes from a dataclass field declared with :func:`tinysent.build.config.option` (type, default,
help, choices), so ``--help`` shows every option with its help and default, and the CLI cannot drift
from the Python API. The same names mean the same thing everywhere: ``--model DIR`` is the model a
command uses (the shipped one when optional and absent), ``--train-data`` the training data,
``--test-data`` the test data, ``--out`` what a command writes.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import types
import typing
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from tinysent import __version__
from tinysent.build.config import TrainConfig, option, output_folder
from tinysent.core.meta import RECHECK_MARGIN

# ---------------------------------------------------------------------------------------------
# Option sets of the commands that have no config of their own

MODEL_HELP = "model folder (default: the shipped model)"


@dataclass
class DataCheckOptions:
    paths: list[str] = option(
        None,
        "files or folders to check: Sentiment140 (CSV, .gz, .xz, the official zip), SemEval Task 4A (.tsv "
        "or its folder), TweetEval sentiment (its folder)",
        cli="positional",
    )
    strict: bool = option(False, "stop at the first malformed row")
    compact: bool = option(False, "one line of JSON per file")


@dataclass
class DataDownloadOptions:
    dest: str | None = option(None, "where to put the archive (default: the user cache)", metavar="DIR")


@dataclass
class DataSampleOptions:
    train_data: str | None = option(
        None, "training file or folder (default: the cached download)", metavar="PATH"
    )
    n: int = option(None, "tweets to keep (stratified by label)", cli="required")
    seed: int = option(0, "sampling seed")
    out: str = option(None, "CSV file to write (polarity,text)", cli="required", metavar="FILE")


@dataclass
class TrainOptions(TrainConfig):
    seeds: int = option(1, "train this many models (seeds S..S+N-1) into OUT/seed-S and summarise them")
    quiet: bool = option(False, "no progress bar")


@dataclass
class RunOptions(TrainConfig):
    base: str = option(
        "minilm-l6", "model to fine-tune: a preset (tinybert-4l, minilm-l6, ...), a folder or a hub id"
    )
    max_train: int | None = option(20000, "train on a stratified sample of this many tweets (none: all)")
    out: str = option(
        "runs/main", "folder for the model (OUT/model), its evaluation and the report", metavar="DIR"
    )
    test_data: str | None = option(
        None, "test file or folder (default: found beside --train-data)", metavar="PATH"
    )
    quiet: bool = option(False, "no progress bar")


@dataclass
class EvaluateOptions:
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    test_data: str | None = option(
        None,
        "test file or folder: Sentiment140, or a TweetEval folder (3-class metrics) (default: the cached "
        "Sentiment140 archive)",
        metavar="PATH",
    )
    out: str = option(
        None, "folder for metrics.json, plots and the smoke table", cli="required", metavar="DIR"
    )
    split: str = option(
        "test", "TweetEval folders: which split to score (val selects, test reports)", choices=("test", "val")
    )
    batch_size: int = option(256, "at most this many texts per model call")


@dataclass
class ExportOptions:
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    out: str = option(
        None, "folder to write the ONNX model(s), tokenizer and metadata to", cli="required", metavar="DIR"
    )
    int8: bool = option(False, "also write model.int8.onnx (dynamic quantization, per-channel weights)")
    reference: str | None = option(
        None, "text file of tweets for the parity check (default: built-in varied tweets)", metavar="FILE"
    )
    full_last_layer: bool = option(
        False, "compute every token in the last layer (default: only [CLS], the one the classifier reads)"
    )
    standard_ops: bool = option(
        False,
        "standard ONNX ops only, for runtimes other than ONNX Runtime (default: attention reads Q, K and V "
        "in place through ONNX Runtime's FusedMatMul, ~10%% faster)",
    )
    validate: bool = option(
        False,
        "also compare the export with PyTorch on the model's validation split; writes OUT/validation.json",
    )
    train_data: str | None = option(
        None, "with --validate: the model's training data (default: the path in its config)", metavar="PATH"
    )
    overwrite: bool = option(
        False, "replace a non-empty --out folder (the old one is put back if export fails)"
    )
    recheck_margin: float = option(
        RECHECK_MARGIN,
        "with --int8: tweets whose int8 logits lie within this many logits of another label are scored "
        "again in fp32 (model.onnx) when the int8 file is used; 0: never",
    )


@dataclass
class PredictOptions:
    texts: list[str] = option(
        None, "texts to label (or use --input FILE, or pipe them on stdin)", cli="positional"
    )
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    backend: str = option(
        "auto", "auto: ONNX when the folder has an export, else PyTorch", choices=("auto", "torch", "onnx")
    )
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
        "label (default: the export's own, 0.05 for the shipped model; 0: int8 alone)",
    )
    binary: bool = option(False, "3-class models: answer negative / positive by P(pos) vs P(neg)")
    neutral_band: list[float] | None = option(
        None,
        "label 'neutral' when LO < P(positive) < HI (default: the model's own band, if any)",
        nargs=2,
        metavar=("LO", "HI"),
    )
    quiet: bool = option(False, "no progress bar")


@dataclass
class ReportOptions:
    model: list[str] = option(
        None, "model folder (repeatable; default: the shipped model)", cli="append", metavar="DIR"
    )
    test_data: str | None = option(
        None, "test file or folder (default: the cached official archive)", metavar="PATH"
    )
    train_data: str | None = option(
        None,
        "training file or folder for the TF-IDF and majority baselines (default: the cached download)",
        metavar="PATH",
    )
    baseline_max_train: int | None = option(None, "cap the baselines' training tweets (none: all)")
    out: str = option(
        None, "folder for report.html, report.md and report.json", cli="required", metavar="DIR"
    )


@dataclass
class CalibrateOptions:
    model: str = option(
        None, "model folder whose tinysent.json gets the fitted temperature", cli="required", metavar="DIR"
    )
    train_data: str | None = option(
        None, "the data the model was trained on (default: the path in its config)", metavar="PATH"
    )


@dataclass
class ServeOptions:
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    host: str = option("127.0.0.1", "bind address (loopback by default)")
    port: int = option(8000, "TCP port to listen on")
    workers: int = option(1, "worker processes, each with its own model copy")
    backend: str = option(
        "auto", "auto: ONNX when the folder has an export, else PyTorch", choices=("auto", "torch", "onnx")
    )
    max_texts: int = option(256, "texts per request (422 above)")
    max_chars: int = option(5000, "characters per text (422 above)")
    max_body_bytes: int = option(1 << 20, "request body size in bytes (413 above)")
    batch_window_ms: float = option(
        0.0, "extra wait before scoring a batch; 0: score the queue as soon as the model is free"
    )
    threads: int | None = option(None, "model threads per worker (none: one per CPU core)")
    token_file: str | None = option(
        None,
        "file holding a bearer token that every request but /healthz and /readyz must carry "
        "(or set TINYSENT_TOKEN); none: no token asked",
        metavar="FILE",
    )
    insecure: bool = option(False, "allow a non-loopback --host without a token")
    header_timeout: float = option(10.0, "seconds for a client to send its request headers (then closed)")
    body_timeout: float = option(10.0, "seconds for a client to send its request body (then 408)")
    keep_alive: float = option(5.0, "seconds an idle keep-alive connection stays open")
    max_connections: int = option(1000, "connections at once (503 beyond)")


@dataclass
class PackOptions:
    model: str = option(
        None, "trained model folder (tinysent train / distill --out)", cli="required", metavar="DIR"
    )
    out: str = option(
        None, "folder for the fp16 copy (a README.md model card there is kept)", cli="required", metavar="DIR"
    )


@dataclass
class InitStudentOptions:
    shape: str = option("tinybert-4l", "student shape", choices=("tinybert-4l", "tinybert-6l"))
    tokenizer: str = option(None, "model (preset, folder or hub id) whose tokenizer to use", cli="required")
    out: str = option(None, "folder to write the student to", cli="required", metavar="DIR")
    seed: int = option(0, "initialisation seed")


# ---------------------------------------------------------------------------------------------
# Dataclass → argparse


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default (or says it is required)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS:
            return text  # positionals and sub-commands: nothing to default
        if "%(default)" in text or "(default:" in text:
            return text  # the help already says what happens by default
        if action.required:
            return text + " (required)"
        default = action.default
        if isinstance(default, list) and default:
            default = ",".join(map(str, default))
        if isinstance(default, bool):
            default = "on" if default else "off"
        return f"{text} (default: {'none' if default in (None, []) else default})"


def _none_or(parse):
    def f(s: str):
        return None if s.lower() == "none" else parse(s)

    f.__name__ = parse.__name__
    return f


def _list_of(parse):
    def f(s: str):
        return None if s.lower() == "none" else [parse(x) for x in s.split(",") if x.strip()]

    f.__name__ = f"comma-separated {parse.__name__}s"
    return f


def _base_type(tp):
    """(scalar type, is a list, may be None) of an annotation: ``int | None`` → (int, False, True);
    ``list[int] | None`` → (int, True, True); ``str | dict`` → (str, False, False)."""
    args = list(typing.get_args(tp)) if isinstance(tp, types.UnionType) else [tp]
    optional = type(None) in args
    first = next(a for a in args if a is not type(None))
    if typing.get_origin(first) is list:
        return typing.get_args(first)[0], True, optional
    return first, False, optional


def add_config_args(p: argparse.ArgumentParser, cls, skip=()) -> None:
    """One option per dataclass field: typed from its annotation, documented from its metadata."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        meta = f.metadata
        if f.name in skip or meta.get("cli") is False:
            continue
        kind, is_list, optional = _base_type(hints[f.name])
        default = None if f.default is MISSING else f.default
        kw = {"help": meta.get("help") or f.name.replace("_", " ")}
        if meta.get("metavar"):
            kw["metavar"] = meta["metavar"]
        if meta.get("choices"):
            kw["choices"] = meta["choices"]
        flag = "--" + f.name.replace("_", "-")
        if meta.get("cli") == "positional":
            p.add_argument(f.name, nargs="+" if f.name == "paths" else "*", **kw)
            continue
        if meta.get("cli") == "append":
            p.add_argument(flag, dest=f.name, action="append", default=[], **kw)
            continue
        if kind is bool:
            action = argparse.BooleanOptionalAction if default else "store_true"
            p.add_argument(flag, dest=f.name, action=action, default=default, **kw)
            continue
        parse = {int: int, float: float}.get(kind, str)
        if meta.get("nargs"):
            kw["nargs"] = meta["nargs"]  # a list given as separate words, e.g. --neutral-band 0.35 0.65
        elif is_list:
            parse = _list_of(parse)
        elif optional and parse is not str:
            parse = _none_or(parse)
        p.add_argument(
            flag, dest=f.name, type=parse, default=default, required=meta.get("cli") == "required", **kw
        )


def _options(args, cls, **extra):
    """The command's config (its fields only) from parsed arguments."""
    names = {f.name for f in fields(cls)}
    return cls(**{**{k: v for k, v in vars(args).items() if k in names}, **extra})


# ---------------------------------------------------------------------------------------------
# Commands


def _check_readers(path: Path, strict: bool):
    """(name, read()) for each corpus in a file or folder: Sentiment140, SemEval or TweetEval."""
    from tinysent.build import semeval as H
    from tinysent.build import sentiment140 as D

    kind = H.kind_of(path)
    if kind == "tweeteval":
        folder = path if path.is_dir() else path.parent
        return [
            (s, lambda s=s: H.read_tweeteval(folder, s))
            for s in H.TWEETEVAL_SPLITS
            if (folder / f"{s}_text.txt").exists()
        ]
    if kind == "semeval":
        return [(None, lambda: H.read_semeval(path))]
    members = [D.TRAIN_MEMBER, D.TEST_MEMBER] if path.suffix == ".zip" else [None]
    return [(m, lambda m=m: D.read(path, member=m, strict=strict)) for m in members]


def cmd_data_check(args) -> int:
    from tinysent.build import sentiment140 as D

    rc = 0
    for path in args.paths:
        path = Path(path)
        for _, read in _check_readers(path, args.strict):
            try:
                corpus = read()
            except D.DataError as e:
                print(json.dumps({"file": str(path), "error": str(e)}), flush=True)
                rc = 1
                continue
            print(json.dumps(D.summary(corpus), indent=None if args.compact else 2), flush=True)
    return rc


def cmd_data_download(args) -> int:
    from tinysent.build import sentiment140 as D

    print(D.download(dest=args.dest))
    return 0


def cmd_data_sample(args) -> int:
    """Stratified subsample of a training file, written as 2-column polarity,text (for moving data)."""
    from tinysent.build import sentiment140 as D

    corpus = D.load(args.train_data, "train")
    idx = D.stratified_sample(corpus.polarity, args.n, args.seed)
    D.write_csv(corpus.subset(idx), args.out)
    print(json.dumps({"out": args.out, "rows": len(idx), "labels": corpus.subset(idx).label_counts()}))
    return 0


def cmd_train(args) -> int:
    from dataclasses import replace

    from tinysent.build.finetune import train

    cfg = _options(args, TrainConfig)
    if args.seeds <= 1:
        with output_folder(cfg.out, cfg.overwrite, cfg.resume):
            summary = train(cfg, progress=not args.quiet)
        print(json.dumps({"out": cfg.out, **summary}, indent=2))
        return 0
    # Several seeds: out/seed-S each; `tinysent report --model out` shows their mean ± std.
    import statistics

    runs = []
    with output_folder(cfg.out, cfg.overwrite, cfg.resume):
        for seed in range(cfg.seed, cfg.seed + args.seeds):
            one = replace(cfg, seed=seed, out=str(Path(cfg.out) / f"seed-{seed}"))
            runs.append({"seed": seed, "out": one.out, "best": train(one, progress=not args.quiet)["best"]})
    accs = [r["best"]["val_accuracy"] for r in runs]
    summary = {
        "seeds": runs,
        "val_accuracy_mean": statistics.mean(accs),
        "val_accuracy_std": statistics.stdev(accs),
    }
    Path(cfg.out, "seeds.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


def cmd_distill(args) -> int:
    from tinysent.build.distill import DistillConfig, distill

    cfg = _options(args, DistillConfig)
    with output_folder(cfg.out, cfg.overwrite, cfg.resume):
        summary = distill(cfg, progress=not args.quiet)
    print(json.dumps({"out": cfg.out, **summary}, indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from tinysent.apps.evaluate import evaluate

    m = evaluate(_model(args.model), args.test_data, args.out, batch_size=args.batch_size, split=args.split)
    keys = (
        "n",
        "macro_recall",
        "macro_recall_ci95",
        "accuracy",
        "accuracy_ci95",
        "macro_f1",
        "roc_auc",
        "excluded_neutral",
    )
    print(json.dumps({k: m[k] for k in keys if k in m}, indent=2))
    return 0


def _model(path: str | None) -> Path:
    from tinysent.runtime.predictor import shipped_folder

    return Path(path) if path else shipped_folder()


def _read_inputs(args):
    """Texts from arguments, --input (txt / csv / tsv / jsonl, read like `--output` runs read it) or stdin."""
    if args.texts:
        return list(args.texts)
    if args.input:
        from tinysent.apps.score import ScoreError, read_records

        texts = []
        for r in read_records(args.input, args.column):
            if r.error == "empty line":  # blank JSONL lines hold no record
                continue
            if r.error:
                raise ScoreError(
                    f"{args.input}, line {r.line}: {r.error} (fix it, or use --output FILE, which "
                    "writes an error record for such lines and carries on)"
                )
            texts.append(r.text)
        return texts
    if sys.stdin.isatty():
        raise SystemExit("error: give texts as arguments, --input FILE, or pipe them on stdin")
    return _stdin_lines(sys.stdin.buffer.read())


def _stdin_lines(data: bytes) -> list[str]:
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
            from tinysent.apps.score import ScoreError

            raise ScoreError(
                f"stdin, line {n}: not valid UTF-8 (byte {e.start + 1} of the line: "
                f"{raw[e.start : e.start + 1]!r}); send UTF-8 text"
            ) from None
    return out


def cmd_predict(args) -> int:
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
    if args.output:
        from tinysent.apps.score import score_file

        if not args.input:
            raise SystemExit("error: --output needs --input FILE")
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
    texts = _read_inputs(args)
    records = predictor.predict(texts, batch_size=args.batch_size, neutral_band=band, binary=args.binary)
    out = sys.stdout
    if args.format == "csv":
        w = csv.writer(out)
        w.writerow(["text", "label", "positive"])
        for t, r in zip(texts, records):
            w.writerow([t, r["label"], f"{r['positive']:.6f}"])
    else:
        for t, r in zip(texts, records):
            out.write(json.dumps({"text": t, **r}, ensure_ascii=False) + "\n")
    return 0


def _predict_on_ray(args, band) -> int:
    from tinysent.apps.raydata import score_dataset

    if not (args.input and args.output):
        raise SystemExit("error: --engine ray needs --input (files, folder or glob) and --output FOLDER")
    if args.strict or args.resume or args.texts or args.max_tokens:
        raise SystemExit(
            "error: --engine ray writes an error record for bad rows and always skips complete shards: "
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
    return 0


def cmd_export(args) -> int:
    from tinysent.build.export import export, validation_agreement

    ref = Path(args.reference).read_text(encoding="utf-8").splitlines() if args.reference else None
    model = _model(args.model)
    with output_folder(args.out, args.overwrite):
        report = export(
            model,
            args.out,
            int8=args.int8,
            reference=ref,
            cls_only=not args.full_last_layer,
            standard_ops=args.standard_ops,
            recheck_margin=args.recheck_margin,
        )
        if args.validate:
            report["validation"] = validation_agreement(model, args.out, args.train_data)
            Path(args.out, "validation.json").write_text(json.dumps(report["validation"], indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


def cmd_run(args) -> int:
    """The main job: train → evaluate → report, with defaults that finish on a 2-core CPU."""
    from tinysent.apps.evaluate import evaluate
    from tinysent.apps.report import build_report
    from tinysent.build.finetune import train

    out = Path(args.out)
    cfg = _options(args, TrainConfig, out=str(out / "model"))
    test = args.test_data or args.train_data
    # One unit: a rerun replaces model, evaluation and report together (--overwrite), or not at all.
    with output_folder(out, cfg.overwrite, cfg.resume):
        train(cfg, progress=not args.quiet)
        m = evaluate(out / "model", test, out / "eval")
        # Baselines trained on as many tweets as the model saw, so the comparison is like for like.
        build_report(
            [str(out / "model")],
            test,
            out / "report",
            train_path=args.train_data,
            baseline_max_train=cfg.max_train,
        )
    print(json.dumps({k: m[k] for k in ("n", "accuracy", "accuracy_ci95", "macro_f1", "roc_auc")}, indent=2))
    print(
        f"model: {out / 'model'}\nmetrics and plots: {out / 'eval'}\nreport: {out / 'report' / 'report.html'}"
    )
    return 0


def cmd_report(args) -> int:
    from tinysent.apps.report import build_report

    models = args.model or [str(_model(None))]
    from tinysent.build.semeval import kind_of

    if args.test_data and kind_of(args.test_data) == "tweeteval":
        from tinysent.apps.report import tweeteval_report

        s = tweeteval_report(models, args.test_data, args.out, train_path=args.train_data)
        for r in s["systems"]:
            lo, hi = r["macro_recall_ci95"]
            print(f"{r['system']:<70} macro recall {r['macro_recall']:.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"report: {Path(args.out) / 'report.html'}")
        return 0
    s = build_report(
        models,
        args.test_data,
        args.out,
        train_path=args.train_data,
        baseline_max_train=args.baseline_max_train,
    )
    for r in s["systems"]:
        print(f"{r['system']:<60} {r['accuracy']:.2%}  [{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}]")
    print(f"report: {Path(args.out) / 'report.html'}")
    return 0


def cmd_calibrate(args) -> int:
    from tinysent.build.calibrate import calibrate

    print(json.dumps(calibrate(args.model, args.train_data), indent=2))
    return 0


def _serve_token(args) -> str | None:
    """The bearer token from --token-file or $TINYSENT_TOKEN; refuses a non-loopback host without one."""
    import ipaddress

    token = None
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise SystemExit(f"error: cannot read --token-file {args.token_file}: {e}") from None
        if not token:
            raise SystemExit(f"error: --token-file {args.token_file} is empty")
    token = token or os.environ.get("TINYSENT_TOKEN") or None
    if token is not None and (len(token) < 16 or not token.isascii() or any(c.isspace() for c in token)):
        raise SystemExit("error: the bearer token must be at least 16 printable ASCII characters, no spaces")
    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and token is None and not args.insecure:
        raise SystemExit(
            f"error: --host {args.host} lets anyone who reaches the port use the service: set a token "
            "(--token-file FILE or TINYSENT_TOKEN), or say --insecure"
        )
    return token


def cmd_serve(args) -> int:
    try:
        import httptools  # noqa: F401 (the header timeout is built on uvicorn's httptools protocol)

        from tinysent.apps.serve import Limits, run
    except ModuleNotFoundError as e:
        raise SystemExit(
            f"error: tinysent serve needs {e.name}, which is not installed: pip install 'tinysent[serve]'"
        ) from None
    token = _serve_token(args)
    limits = Limits(
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes,
        batch_window_ms=args.batch_window_ms,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        keep_alive_s=args.keep_alive,
        max_connections=args.max_connections,
    )
    run(args.model, args.host, args.port, args.workers, limits, args.backend, args.threads, token)
    return 0


def cmd_pack(args) -> int:
    from tinysent.build.pack import pack

    print(json.dumps(pack(args.model, args.out), indent=2))
    return 0


def cmd_init_student(args) -> int:
    from tinysent.build.models import init_student

    print(json.dumps(init_student(args.shape, args.tokenizer, args.out, args.seed), indent=2))
    return 0


def _distill_options():
    from tinysent.build.distill import DistillConfig

    @dataclass
    class DistillOptions(DistillConfig):
        teacher: str = option(None, "fine-tuned teacher model folder", cli="required", metavar="DIR")
        quiet: bool = option(False, "no progress bar")

    return DistillOptions


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tinysent",
        description="Tweet sentiment with TinyBERT.",
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("--version", action="version", version=f"tinysent {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent, name: str, help: str, options, func, skip=()):
        c = parent.add_parser(
            name, help=help, description=help, formatter_class=HelpFormatter, allow_abbrev=False
        )
        add_config_args(c, options, skip)
        c.set_defaults(func=func)
        return c

    d = sub.add_parser(
        "data", help="check, sample or download Sentiment140 files", formatter_class=HelpFormatter
    )
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    command(
        dsub,
        "check",
        "JSON summary per file: rows, labels, malformed rows, duplicates, lengths",
        DataCheckOptions,
        cmd_data_check,
    )
    command(
        dsub,
        "download",
        "fetch the official archive (sha256-checked, resumable) to the cache",
        DataDownloadOptions,
        cmd_data_download,
    )
    command(
        dsub,
        "sample",
        "write a stratified subsample of a training file (polarity,text)",
        DataSampleOptions,
        cmd_data_sample,
    )
    command(
        sub,
        "train",
        "fine-tune a base model (preset, folder or hub id) on Sentiment140",
        TrainOptions,
        cmd_train,
    )
    command(
        sub,
        "distill",
        "TinyBERT task distillation from a fine-tuned teacher into a small student",
        _distill_options(),
        cmd_distill,
    )
    command(
        sub,
        "evaluate",
        "metrics.json, plots and the smoke table on a test file",
        EvaluateOptions,
        cmd_evaluate,
    )
    command(
        sub,
        "export",
        "ONNX export (dynamic axes), optional int8, with a parity check",
        ExportOptions,
        cmd_export,
    )
    command(
        sub,
        "predict",
        "label texts (arguments, --input FILE or stdin); score big files with --output",
        PredictOptions,
        cmd_predict,
    )
    command(
        sub,
        "report",
        "one HTML/Markdown page comparing models and baselines on a test file",
        ReportOptions,
        cmd_report,
    )
    command(
        sub,
        "calibrate",
        "fit temperature scaling on the model's validation split; store it in the model",
        CalibrateOptions,
        cmd_calibrate,
    )
    command(
        sub,
        "serve",
        "HTTP service: POST /v1/predict, /healthz, /readyz (FastAPI + uvicorn)",
        ServeOptions,
        cmd_serve,
    )
    command(
        sub,
        "pack",
        "fp16 copy of a model folder (half the size), refused if fp16 changes a label; "
        "how the shipped model is made",
        PackOptions,
        cmd_pack,
    )
    command(
        sub,
        "init-student",
        "write a randomly initialised student (e.g. TinyBERT 4L-312D) with a given "
        "tokenizer, to fine-tune without distillation",
        InitStudentOptions,
        cmd_init_student,
    )
    command(
        sub,
        "run",
        "the main job: train, evaluate, report (default: minilm-l6, 20k tweets, 1 epoch)",
        RunOptions,
        cmd_run,
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from tinysent.core.errors import TinysentError

    try:
        return args.func(args)
    except (TinysentError, OSError) as e:
        # TinysentError: what the user can fix, said in one line; OSError: a folder given as a file, a
        # file we may not read or write, a full disk. Anything else is a bug: its traceback shows.
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
