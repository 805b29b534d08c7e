"""``tinysent init-student``: a randomly initialised student of a shape."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.data.config import option


@dataclass
class InitStudentOptions:
    shape: str = option("tinybert-4l", "student shape", choices=("tinybert-4l", "tinybert-6l"))
    tokenizer: str = option(None, "model (preset, folder or hub id) whose tokenizer to use", cli="required")
    out: str = option(None, "folder to write the student to", cli="required", metavar="DIR")
    seed: int = option(0, "initialisation seed")


HELP = (
    "write a randomly initialised student (e.g. TinyBERT 4L-312D) with a given tokenizer, to "
    "fine-tune without distillation"
)
EXTRA = "train"
Options = InitStudentOptions


def run(args) -> int:
    from tinysent.train.models import init_student

    print(json.dumps(init_student(args.shape, args.tokenizer, args.out, args.seed), indent=2))
    return 0
