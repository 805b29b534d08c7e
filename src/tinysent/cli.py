"""``tinysent`` command line: one sub-command per pipeline stage."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from dataclasses import fields
from pathlib import Path

from . import __version__


def _add_config_args(p: argparse.ArgumentParser, cls, skip=()) -> None:
    """One --option per dataclass field, typed from its default."""
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if f.name == "stage_budgets":
            p.add_argument(
                flag,
                dest=f.name,
                type=lambda s: [float(x) for x in s.split(",")],
                default=None,
                help="seconds for stages 0,1,2, e.g. 60,300,120: each schedule shortens to fit",
            )
        elif f.name == "time_budget":
            p.add_argument(
                flag,
                dest=f.name,
                type=float,
                default=None,
                help="seconds of training; the LR schedule shortens to end within it",
            )
        elif f.name == "layer_map":
            p.add_argument(
                flag,
                dest=f.name,
                type=lambda s: [int(x) for x in s.split(",")],
                default=None,
                help="teacher layer (1-based) per student layer, e.g. 2,3,5,6",
            )
        elif f.name in ("max_train", "max_val", "max_length", "patience"):
            flags = [flag, "--max-len"] if f.name == "max_length" else [flag]
            p.add_argument(
                *flags, dest=f.name, type=_int_or_none, default=default, help="a number, or 'none'"
            )
        elif isinstance(default, bool):
            p.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=HELP.get(f.name),
            )
        elif isinstance(default, (int, float)):
            p.add_argument(flag, dest=f.name, type=type(default), default=default, help=HELP.get(f.name))
        else:
            p.add_argument(flag, dest=f.name, type=str, default=default, help=HELP.get(f.name))


HELP = {  # options whose name alone does not say enough
    "teacher": "fine-tuned teacher model folder",
    "student": "tinybert-4l / tinybert-6l (random init), prune:SHAPE (the teacher pruned to that shape), "
    "layers:2,4,6 (a subset of the teacher's layers) or a checkpoint folder",
    "unlabelled": "text file of extra tweets, one per line, labelled by the teacher",
    "general_teacher": "pre-trained (not fine-tuned) model for stage 0, general distillation",
    "prune_calibration": "training tweets whose activations decide what prune:SHAPE keeps",
    "stage0_epochs": "general distillation epochs (needs --general-teacher)",
    "stage1_epochs": "intermediate-layer distillation epochs (attention, hidden states, embeddings)",
    "stage2_epochs": "prediction-layer distillation epochs (soft cross-entropy)",
    "temperature": "softmax temperature of the stage-2 soft cross-entropy",
    "hard_label_weight": "stage 2: weight of the true-label loss (0: teacher only, 1: labels only)",
    "resume": "continue from OUT/checkpoint after an interruption",
    "base": "model to fine-tune: a preset (tinybert-4l, minilm-l6, ...), a folder or a hub id",
    "data": "Sentiment140 training file or folder (default: the cached download)",
    "eval_every": "evaluate on the validation split every this many steps",
    "batch_size": "global batch size (split across processes)",
}


def _int_or_none(s: str) -> int | None:
    return None if s.lower() == "none" else int(s)


def _config_from(args, cls, **extra):
    names = {f.name for f in fields(cls)}
    return cls(**{**{k: v for k, v in vars(args).items() if k in names}, **extra})


def cmd_data_check(args) -> int:
    from . import data as D

    rc = 0
    for path in args.paths:
        path = Path(path)
        members = [D.TRAIN_MEMBER, D.TEST_MEMBER] if path.suffix == ".zip" else [None]
        for member in members:
            try:
                corpus = D.read(path, member=member, strict=args.strict)
            except D.DataError as e:
                print(json.dumps({"file": str(path), "error": str(e)}), flush=True)
                rc = 1
                continue
            print(json.dumps(D.summary(corpus), indent=None if args.compact else 2), flush=True)
    return rc


def cmd_data_download(args) -> int:
    from . import data as D

    path = D.download(dest=args.dest)
    print(path)
    return 0


def cmd_data_sample(args) -> int:
    """Stratified subsample of a training file, written as 2-column polarity,text (for moving data)."""
    from . import data as D

    corpus = D.load(args.data, "train")
    idx = D.stratified_sample(corpus.polarity, args.n, args.seed)
    D.write_csv(corpus.subset(idx), args.out)
    print(json.dumps({"out": args.out, "rows": len(idx), "labels": corpus.subset(idx).label_counts()}))
    return 0


def cmd_train(args) -> int:
    from dataclasses import replace

    from .config import TrainConfig
    from .train import train

    cfg = _config_from(args, TrainConfig)
    if args.seeds <= 1:
        summary = train(cfg, progress=not args.quiet)
        print(json.dumps({"out": cfg.out, **summary}, indent=2))
        return 0
    # Several seeds: out/seed-S each; `tinysent report --model out` shows their mean ± std.
    runs = []
    for seed in range(cfg.seed, cfg.seed + args.seeds):
        one = replace(cfg, seed=seed, out=str(Path(cfg.out) / f"seed-{seed}"))
        runs.append({"seed": seed, "out": one.out, "best": train(one, progress=not args.quiet)["best"]})
    accs = [r["best"]["val_accuracy"] for r in runs]
    import statistics

    summary = {
        "seeds": runs,
        "val_accuracy_mean": statistics.mean(accs),
        "val_accuracy_std": statistics.stdev(accs),
    }
    Path(cfg.out, "seeds.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


def cmd_distill(args) -> int:
    from .distill import DistillConfig, distill

    cfg = _config_from(args, DistillConfig)
    summary = distill(cfg, progress=not args.quiet)
    print(json.dumps({"out": cfg.out, **summary}, indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate

    m = evaluate(args.model, args.data, args.out, batch_size=args.batch_size)
    keys = ("n", "accuracy", "accuracy_ci95", "macro_f1", "roc_auc", "excluded_neutral")
    print(json.dumps({k: m[k] for k in keys}, indent=2))
    return 0


def _read_inputs(args):
    """Texts from arguments, --input (txt / csv / tsv / jsonl, read like `--output` runs read it) or stdin."""
    if args.texts:
        return list(args.texts)
    if args.input:
        from .score import ScoreError, read_records

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
    return sys.stdin.read().splitlines()


def cmd_predict(args) -> int:
    from .predict import load

    texts = list(args.texts)
    model = args.model
    if model is None and texts and (Path(texts[0]) / "config.json").exists():
        model = texts.pop(0)  # `tinysent predict MODEL "text" ...`
    band = tuple(args.neutral_band) if args.neutral_band else None
    predictor = load(model, backend=args.backend, max_tokens=args.max_tokens)
    if args.output:
        from .score import score_file

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
        )
        print(json.dumps({"output": args.output, **counts}), file=sys.stderr)
        return 0
    args.texts = texts
    texts = _read_inputs(args)
    records = predictor.predict(texts, batch_size=args.batch_size, neutral_band=band)
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


def cmd_export(args) -> int:
    from .export import export

    ref = Path(args.reference).read_text(encoding="utf-8").splitlines() if args.reference else None
    report = export(
        args.model,
        args.out,
        int8=args.int8,
        reference=ref,
        cls_only=not args.full_last_layer,
        standard_ops=args.standard_ops,
    )
    print(json.dumps(report, indent=2))
    return 0


def cmd_run(args) -> int:
    """The main job: train → evaluate → report, with defaults that finish on a 2-core CPU."""
    from .config import TrainConfig
    from .evaluate import evaluate
    from .report import build_report
    from .train import train

    out = Path(args.out)
    cfg = _config_from(args, TrainConfig, out=str(out / "model"))
    train(cfg, progress=not args.quiet)
    test = args.test or args.data
    m = evaluate(out / "model", test, out / "eval")
    # Baselines trained on as many tweets as the model saw, so the comparison is like for like.
    build_report(
        [str(out / "model")], test, out / "report", train_path=args.data, baseline_max_train=cfg.max_train
    )
    print(json.dumps({k: m[k] for k in ("n", "accuracy", "accuracy_ci95", "macro_f1", "roc_auc")}, indent=2))
    print(
        f"model: {out / 'model'}\nmetrics and plots: {out / 'eval'}\nreport: {out / 'report' / 'report.html'}"
    )
    return 0


def cmd_report(args) -> int:
    from .report import build_report

    s = build_report(
        args.model, args.data, args.out, train_path=args.train, baseline_max_train=args.baseline_max_train
    )
    for r in s["systems"]:
        print(f"{r['system']:<60} {r['accuracy']:.2%}  [{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}]")
    print(f"report: {Path(args.out) / 'report.html'}")
    return 0


def cmd_calibrate(args) -> int:
    from .calibrate import calibrate

    print(json.dumps(calibrate(args.model, args.data), indent=2))
    return 0


def cmd_serve(args) -> int:
    from .serve import Limits, run

    limits = Limits(
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes,
        batch_window_ms=args.batch_window_ms,
    )
    run(args.model, args.host, args.port, args.workers, limits, args.backend, args.threads)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .config import TrainConfig
    from .distill import DistillConfig

    p = argparse.ArgumentParser(prog="tinysent", description="Tweet sentiment with TinyBERT.")
    p.add_argument("--version", action="version", version=f"tinysent {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("data", help="check, sample or download Sentiment140 files")
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    c = dsub.add_parser(
        "check", help="JSON summary per file: rows, labels, malformed rows, duplicates, lengths"
    )
    c.add_argument("paths", nargs="+")
    c.add_argument("--strict", action="store_true", help="stop at the first malformed row")
    c.add_argument("--compact", action="store_true", help="one line of JSON per file")
    c.set_defaults(func=cmd_data_check)
    dl = dsub.add_parser(
        "download", help="fetch the official archive (sha256-checked, resumable) to the cache"
    )
    dl.add_argument("--dest", default=None)
    dl.set_defaults(func=cmd_data_download)
    sm = dsub.add_parser("sample", help="write a stratified subsample of a training file (polarity,text)")
    sm.add_argument("--data", default=None)
    sm.add_argument("--n", type=int, required=True)
    sm.add_argument("--seed", type=int, default=0)
    sm.add_argument("--out", required=True)
    sm.set_defaults(func=cmd_data_sample)

    t = sub.add_parser("train", help="fine-tune a base model (preset, folder or hub id) on Sentiment140")
    _add_config_args(t, TrainConfig)
    t.add_argument("--seeds", type=int, default=1, help="train N models (seeds S..S+N-1) into OUT/seed-S")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    ds = sub.add_parser(
        "distill", help="TinyBERT task distillation from a fine-tuned teacher into a small student"
    )
    _add_config_args(ds, DistillConfig, skip=("sizes",))
    ds.add_argument("--quiet", action="store_true")
    ds.set_defaults(func=cmd_distill)

    e = sub.add_parser("evaluate", help="metrics.json, plots and the smoke table on a test file")
    e.add_argument("model")
    e.add_argument("--data", default=None, help="test file or folder (default: the cached official archive)")
    e.add_argument("--out", required=True)
    e.add_argument("--batch-size", type=int, default=128)
    e.set_defaults(func=cmd_evaluate)

    x = sub.add_parser("export", help="ONNX export (dynamic axes), optional int8, with a parity check")
    x.add_argument("model")
    x.add_argument("--out", required=True)
    x.add_argument("--int8", action="store_true", help="also write model.int8.onnx (dynamic quantization)")
    x.add_argument("--reference", default=None, help="text file of tweets for the parity check")
    x.add_argument(
        "--full-last-layer",
        action="store_true",
        help="compute every token in the last layer (default: only [CLS], the one the classifier reads)",
    )
    x.add_argument(
        "--standard-ops",
        action="store_true",
        help="standard ONNX ops only, for runtimes other than ONNX Runtime (default: attention reads "
        "Q, K and V in place through ONNX Runtime's FusedMatMul, ~10%% faster)",
    )
    x.set_defaults(func=cmd_export)

    pr = sub.add_parser("predict", help="label texts (arguments, --input FILE or stdin); score big files")
    pr.add_argument(
        "texts", nargs="*", help="[MODEL] TEXT...: a first argument that is a model folder is the model"
    )
    pr.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    pr.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    pr.add_argument("--output", default=None, help="stream --input into this .csv/.jsonl (constant memory)")
    pr.add_argument("--id-column", default=None, help="column passed through to --output (default: line)")
    pr.add_argument("--resume", action="store_true", help="continue an interrupted --output run")
    pr.add_argument("--strict", action="store_true", help="stop at the first bad input line")
    pr.add_argument("--quiet", action="store_true")
    pr.add_argument("--input", default=None, help="a .txt (one text a line), .csv/.tsv or .jsonl file")
    pr.add_argument("--column", default="text", help="text column of a CSV/JSONL input")
    pr.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    pr.add_argument("--batch-size", type=int, default=256, help="at most this many texts per model call")
    pr.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help="at most this many padded tokens per model call (default: no cap); 2048 made ONNX int8 ~6%% "
        "faster on 2 cores but shifts int8 results a little (activations are scaled per call)",
    )
    pr.add_argument(
        "--neutral-band",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="label 'neutral' when LO < P(positive) < HI",
    )
    pr.set_defaults(func=cmd_predict)

    rp = sub.add_parser("report", help="one HTML/Markdown page comparing models and baselines on a test file")
    rp.add_argument("--model", action="append", default=[], help="model folder (repeatable)")
    rp.add_argument("--data", default=None, help="test file or folder")
    rp.add_argument(
        "--train", default=None, help="training file or folder for the TF-IDF and majority baselines"
    )
    rp.add_argument("--baseline-max-train", type=int, default=None, help="cap the baselines' training tweets")
    rp.add_argument("--out", required=True)
    rp.set_defaults(func=cmd_report)

    cb = sub.add_parser("calibrate", help="fit temperature scaling on the model's validation split; store it")
    cb.add_argument("model")
    cb.add_argument(
        "--data", default=None, help="the training data the model was trained on (default: its config)"
    )
    cb.set_defaults(func=cmd_calibrate)

    sv = sub.add_parser("serve", help="HTTP service: POST /v1/predict, /healthz, /readyz (FastAPI + uvicorn)")
    sv.add_argument("model", nargs="?", default=None, help="model folder (default: the shipped model)")
    sv.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--workers", type=int, default=1, help="worker processes, each with its own model copy")
    sv.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    sv.add_argument("--max-texts", type=int, default=256, help="texts per request")
    sv.add_argument("--max-chars", type=int, default=5000, help="characters per text")
    sv.add_argument("--max-body-bytes", type=int, default=1 << 20, help="request body size (413 above)")
    sv.add_argument(
        "--batch-window-ms",
        type=float,
        default=0.0,
        help="extra wait before scoring a batch; 0 (default): score the queue as soon as the model is free",
    )
    sv.add_argument(
        "--threads", type=int, default=None, help="model threads per worker (default: one per CPU core)"
    )
    sv.set_defaults(func=cmd_serve)

    r = sub.add_parser(
        "run", help="the main job: train then evaluate (default: minilm-l6, 20k tweets, 1 epoch)"
    )
    _add_config_args(r, TrainConfig, skip=("out",))
    r.set_defaults(base="minilm-l6", max_train=20000)
    r.add_argument("--test", default=None, help="test file (default: found beside --data)")
    r.add_argument("--out", default="runs/main")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from .data import DataError
    from .models import ModelError

    try:
        return args.func(args)
    except (DataError, ModelError, ValueError, FileNotFoundError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
