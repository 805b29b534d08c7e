"""``tinysent calibrate``: temperature scaling on the model's validation split."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.data.config import option, output_folder


@dataclass
class CalibrateOptions:
    model: str = option(
        None, "model folder whose tinysent.json gets the fitted temperature", cli="required", metavar="DIR"
    )
    train_data: str | None = option(
        None, "the data the model was trained on (default: the path in its config)", metavar="PATH"
    )
    class_offsets: bool = option(
        False,
        "3-class models: also offsets on the labels' log-probabilities that raise TweetEval-validation "
        "macro recall, kept only when their cross-fitted gain there is positive",
        aliases=("--class-bias",),
    )
    out: str | None = option(
        None,
        "write the calibrated model to this folder (a copy without checkpoint or teacher outputs) and "
        "leave --model as it is (default: calibrate --model in place)",
        metavar="DIR",
    )
    overwrite: bool = option(False, "with --out: replace a non-empty folder (kept until this succeeds)")


HELP = "fit temperature scaling on the model's validation split; store it in the model"
EXTRA = "train"
Options = CalibrateOptions


def run(args) -> int:
    from pathlib import Path

    from tinysent.train.calibrate import calibrate

    if args.out is None:
        print(json.dumps(calibrate(args.model, args.train_data, args.class_offsets), indent=2))
        return 0
    from tinysent.train.choose import copy_model

    with output_folder(args.out, args.overwrite):
        copy_model(Path(args.model), Path(args.out))
        result = calibrate(args.out, args.train_data, args.class_offsets)
    print(json.dumps({"out": args.out, **result}, indent=2))
    return 0
