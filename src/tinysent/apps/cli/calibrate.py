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


HELP = "fit temperature scaling on the model's validation split; store it in the model"
EXTRA = "train"
Options = CalibrateOptions


def run(args) -> int:
    from tinysent.build.calibrate import calibrate

    print(json.dumps(calibrate(args.model, args.train_data), indent=2))
    return 0
