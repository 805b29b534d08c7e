"""One error family: what a user can fix. The CLI prints these as one line (the message names the
problem and the fix) and anything else (a bug) with its traceback.

Each class also derives from the builtin it refines (``InputError`` is a ``ValueError``), so code that
catches the builtin keeps working.
"""

from __future__ import annotations

import importlib
import importlib.util


class TinysentError(Exception):
    """Base of every error whose message tells the user what to change."""


class InputError(TinysentError, ValueError):
    """A bad value: an option, a text, a setting."""


class InputTypeError(TinysentError, TypeError):
    """A value of the wrong type (a text that is not a str, ...)."""


class MissingFileError(TinysentError, FileNotFoundError):
    """A file or folder the user named is not there."""


class DataError(TinysentError, ValueError):
    """Bad input data; the message names the file, the line and the fix."""


class MetaError(TinysentError, ValueError):
    """A model's tinysent.json is missing, unreadable or holds values that would give wrong answers."""


class ModelError(TinysentError, RuntimeError):
    """A model folder that cannot be used as it is (missing, damaged or unpinned files, ...)."""


class ScoreError(TinysentError, ValueError):
    """A batch-scoring input or output that cannot be used."""


class ParityError(TinysentError, RuntimeError):
    """An export whose labels disagree with the model it came from."""


class MissingExtra(TinysentError, ImportError):
    """A feature whose dependencies are an optional extra that is not installed."""


# What each extra brings, for the error that names it.
EXTRAS = {
    "train": "training, distillation, export, evaluation and the PyTorch backend",
    "serve": "the HTTP service",
    "parquet": "Parquet input and output",
    "ray": "scoring on a Ray cluster",
    "baselines": "the VADER baseline in reports",
    "label": "the labelling page and its background fine-tunes",
}


def missing_extra(module: str, extra: str) -> MissingExtra:
    """The one-line error for ``module``, which the ``extra`` installs."""
    return MissingExtra(
        f"{EXTRAS.get(extra, extra)} needs `{module.split('.')[0]}`, which this install lacks: "
        f"pip install 'tinysent[{extra}]'"
    )


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    import sys

    if module in sys.modules:
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


def require(module: str, extra: str):
    """``import module``, or a one-line error naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if e.name is not None and module.split(".")[0] != e.name.split(".")[0] and e.name != module:
            raise  # the module is there but broken: show the real error
        raise missing_extra(module, extra) from None
