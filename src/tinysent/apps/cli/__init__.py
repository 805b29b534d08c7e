"""``tinysent`` command line: one sub-command per pipeline stage, one module per command, each
generated from a typed config (:mod:`.options`). A command module holds its options, its help and a
``run(args)`` that calls the library; the work itself lives in the layers below.

The same names mean the same thing everywhere: ``--model DIR`` is the model a command uses (the
shipped one when optional and absent), ``--train-data`` the training data, ``--test-data`` the test
data, ``--out`` what a command writes. An error a user can fix is one line on stderr (rc 2); a bug
shows its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from tinysent.apps.cli import (
    calibrate,
    compare,
    curve,
    data,
    distill,
    evaluate,
    export,
    init_student,
    label,
    models,
    pack,
    package,
    predict,
    recipe,
    report,
    run,
    select,
    serve,
    soup,
    train,
)
from tinysent.apps.cli.options import HelpFormatter, add_config_args
from tinysent.core.version import __version__

# name -> module, in the order --help lists them
COMMANDS = {
    "train": train,
    "distill": distill,
    "evaluate": evaluate,
    "export": export,
    "predict": predict,
    "report": report,
    "curve": curve,
    "compare": compare,
    "soup": soup,
    "select": select,
    "calibrate": calibrate,
    "serve": serve,
    "label": label,
    "models": models,
    "pack": pack,
    "package": package,
    "init-student": init_student,
    "run": run,
}
# What each extra must provide before a command that needs it starts (else a one-line error naming it).
EXTRA_MODULES = {
    "train": ("torch", "transformers", "safetensors", "accelerate", "onnx", "sklearn", "matplotlib"),
    "eval": ("sklearn", "scipy", "matplotlib"),
    "serve": ("fastapi", "uvicorn", "httptools"),
    "recipes": ("weasel",),
}
EXTRA_MODULES["label"] = EXTRA_MODULES["train"] + EXTRA_MODULES["serve"]  # the page, and its rounds


DATA_HELP = (
    "check any data file (Sentiment140, SemEval, TweetEval, your own labelled tweets); sample or "
    "download Sentiment140"
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tinysent",
        description="Tweet sentiment with TinyBERT.",
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("--version", action="version", version=f"tinysent {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent, name: str, help: str, options, func, extra=None):
        c = parent.add_parser(
            name, help=help, description=help, formatter_class=HelpFormatter, allow_abbrev=False
        )
        add_config_args(c, options)
        c.set_defaults(func=func, extra=extra)
        return c

    d = sub.add_parser("data", help=DATA_HELP, formatter_class=HelpFormatter)
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    for name, help, options, func in data.COMMANDS:
        command(dsub, name, help, options, func)
    for name, m in COMMANDS.items():
        command(sub, name, m.HELP, m.Options, m.run, getattr(m, "EXTRA", None))
    r = sub.add_parser("recipe", help=recipe.HELP, description=recipe.HELP, formatter_class=HelpFormatter)
    rsub = r.add_subparsers(dest="recipe_command", required=True, metavar="ACTION")
    for name, help, options, func in recipe.COMMANDS:
        command(rsub, name, help, options, func, recipe.EXTRA)
    return p


def require_extra(extra: str | None) -> None:
    """Every module of the command's extra is installed (looked up, not imported: the command imports
    what it uses, when it uses it), or a one-line error naming the extra."""
    from tinysent.core.errors import installed, missing_extra

    for module in EXTRA_MODULES.get(extra, ()):
        if not installed(module):
            raise missing_extra(module, extra)


class Terminated(BaseException):
    """SIGTERM, raised where the command is: its ``finally`` blocks and ``except BaseException``
    clean-ups run (an ``--overwrite`` run puts the old folder back) as they do for Ctrl-C."""


@contextlib.contextmanager
def terminated_as_exception():
    """SIGTERM raises :class:`Terminated` while the command runs (the main thread only; a server's
    own handler replaces it while it serves); a second SIGTERM during the clean-up is ignored (only
    SIGKILL stops it, and the next run settles what that leaves)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def main(argv: list[str] | None = None) -> int:
    from tinysent.core.errors import TinysentError

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        with terminated_as_exception():
            require_extra(args.extra)
            return args.func(args)
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`tinysent predict ... | head -1`): stop quietly, and keep Python from
        # reporting the same broken pipe again when it flushes stdout at exit
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (TinysentError, OSError) as e:
        # TinysentError: what the user can fix, said in one line; OSError: a folder given as a file, a
        # file we may not read or write, a full disk. Anything else is a bug: its traceback shows.
        print(f"error: {e}", file=sys.stderr)
        return 2


__all__ = ["COMMANDS", "build_parser", "main"]
