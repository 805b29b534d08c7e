"""``tinysent calibrate``: temperature scaling on the model's validation split."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.build.config import option


@dataclass
class CalibrateOptions:
    model: str = option(
        None, "model folder whose tinysent.json gets the fitted temperature", cli="required", metavar="DIR"
    )
    train_data: str | None = option(
        None, "the data the model was trained on (default: the path in its config)", metavar="PATH"
    )
    class_bias: bool = option(
        False,
        "3-class models: also offsets on the labels' log-probabilities that raise TweetEval-validation "
        "macro recall, kept only when their cross-fitted gain there is positive",
    )


HELP = "fit temperature scaling on the model's validation split; store it in the model"
EXTRA = "train"
Options = CalibrateOptions


def run(args) -> int:
    from tinysent.build.calibrate import calibrate

    print(json.dumps(calibrate(args.model, args.train_data, args.class_bias), indent=2))
    return 0
