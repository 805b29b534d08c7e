"""``tinysent pack``: the shipped form of a model."""

from __future__ import annotations

import json
from dataclasses import dataclass

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


HELP = (
    "the shipped form of a model: fp16 weights (refused if fp16 changes a label) and its ONNX graphs "
    "(int8 for both CPU kinds, fp32 recheck); how the shipped model is made"
)
EXTRA = "train"
Options = PackOptions


def run(args) -> int:
    from tinysent.train.pack import pack

    print(json.dumps(pack(args.model, args.out, onnx=args.onnx), indent=2))
    return 0
