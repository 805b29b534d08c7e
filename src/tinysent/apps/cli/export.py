"""``tinysent export``: ONNX (and int8) files of a model, checked against PyTorch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.apps.cli.options import MODEL_HELP, model_or_shipped, recheck_margin_option
from tinysent.data.config import option, output_folder


@dataclass
class ExportOptions:
    model: str | None = option(None, MODEL_HELP, metavar="DIR")
    out: str = option(
        None, "folder to write the ONNX model(s), tokenizer and metadata to", cli="required", metavar="DIR"
    )
    int8: bool = option(False, "also write model.int8.onnx (dynamic quantization, per-channel weights)")
    int8_kernels: list[str] | None = option(
        None,
        "with --int8: which CPU kinds to write int8 files for: vnni (model.int8.onnx), avx2 "
        "(model.int8-avx2.onnx, reduce-range weights) (default: this CPU's)",
    )
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
    recheck_margin: float = recheck_margin_option("with --int8: ")


HELP = "ONNX export (dynamic axes), optional int8, with a parity check"
EXTRA = "train"
Options = ExportOptions


def run(args) -> int:
    from tinysent.train.export import export, write_validation

    ref = Path(args.reference).read_text(encoding="utf-8").splitlines() if args.reference else None
    model = model_or_shipped(args.model)
    with output_folder(args.out, args.overwrite):
        report = export(
            model,
            args.out,
            int8=args.int8,
            reference=ref,
            cls_only=not args.full_last_layer,
            standard_ops=args.standard_ops,
            recheck_margin=args.recheck_margin,
            kernels=tuple(args.int8_kernels) if args.int8_kernels else None,
        )
        if args.validate:
            report["validation"] = write_validation(model, args.out, args.train_data)
    print(json.dumps(report, indent=2))
    return 0
