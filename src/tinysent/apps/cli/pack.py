"""``tinysent pack``: the shipped form of a model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.apps.cli.options import recheck_margin_option
from tinysent.core.errors import InputError
from tinysent.data.config import option


@dataclass
class PackOptions:
    model: str = option(
        None, "trained model folder (tinysent train / distill --out)", cli="required", metavar="DIR"
    )
    out: str = option(
        None,
        "folder for the shipped form: fp16 weights and ONNX graphs (a README.md model card there is kept)",
        cli="required",
        metavar="DIR",
    )
    onnx: bool = option(True, "also write the int8 (VNNI and AVX2) and fp32 ONNX graphs: the default path")
    recheck_margin: float = recheck_margin_option()
    validate: bool = option(
        False,
        "then compare the packed model's default path (int8 with its fp32 recheck) with the fp32 model on "
        "the model's validation split (a model of your labels: its task's validation rows; the 3-class "
        "sentiment model: TweetEval validation, and Sentiment140 validation when it trained on it); writes "
        "OUT/validation.json (not a model file: copies and packages leave it out)",
    )


HELP = (
    "the shipped form of a model: fp16 weights (refused if fp16 changes a label but at a near-tie) and "
    "its ONNX graphs (int8 for both CPU kinds, fp32 recheck); how the shipped model is made"
)
EXTRA = "train"
Options = PackOptions


def run(args) -> int:
    from tinysent.data.outputs import folder_lock, recover
    from tinysent.train.pack import pack

    if args.validate and not args.onnx:  # before anything is written
        raise InputError("--validate compares the ONNX default path: drop --no-onnx")
    if args.validate and (Path(args.model) / "tinysent.json").exists():  # read after packing: check now
        from tinysent.train.export.parity import validation_inputs

        gone = [p for p in validation_inputs(args.model) if not p.exists()]
        if gone:
            raise InputError(
                f"--validate reads the model's validation data from {gone[0]}, which is not there: "
                "put it back, or drop --validate (nothing was written)"
            )
    with folder_lock(args.out):  # one pack into a folder at a time; a killed one's leftovers settled
        recover(args.out)  # what a killed pack left: the old folder back, its half-built one removed
        report = pack(args.model, args.out, onnx=args.onnx, recheck_margin=args.recheck_margin)
        if args.validate:
            from tinysent.train.export import write_validation

            report["validation"] = write_validation(args.model, args.out)
    print(json.dumps(report, indent=2))
    return 0
