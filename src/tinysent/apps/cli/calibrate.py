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

    from tinysent.core.errors import InputError
    from tinysent.runtime.registry import SHIPPED_DIR, package_name, resolve_model
    from tinysent.train.calibrate import calibrate

    model = resolve_model(args.model)  # a folder, or an installed model's name (shipped, accurate, ...)
    if args.out is None:
        if model.resolve() == SHIPPED_DIR.resolve() or package_name(model) is not None:
            raise InputError(
                f"--model {args.model} is an installed model, whose files its package pins: calibrate a "
                "copy with --out DIR"
            )
        print(json.dumps(calibrate(model, args.train_data, args.class_offsets), indent=2))
        return 0
    from tinysent.train.choose import copy_model

    if Path(args.out).resolve() == model.resolve():
        raise InputError(
            f"--out {args.out} is the --model folder: drop --out to calibrate it in place, or name "
            "another folder for the calibrated copy"
        )
    with output_folder(args.out, args.overwrite):
        copy_model(model, Path(args.out))
        result = calibrate(args.out, args.train_data, args.class_offsets)
    print(json.dumps({"out": args.out, **result}, indent=2))
    return 0
