"""Typed configs → argparse: every option comes from a dataclass field declared with
:func:`tinysent.data.config.option` (type, default, help, choices), so ``--help`` shows every option
with its help and default and the CLI cannot drift from the Python API."""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path

MODEL_HELP = (
    "model folder, or an installed model's name: fast, accurate, ... (tinysent models; default: the "
    "shipped model)"
)
BACKEND_HELP = "auto: ONNX when the folder has an export (the shipped model does), else PyTorch"
BACKENDS = ("auto", "torch", "onnx")


def test_task_option():
    """``--task`` of evaluate and report: how the test rows are read (one resolver decides auto)."""
    from tinysent.data.config import option
    from tinysent.data.task_kind import TEST_TASKS

    return option(
        "auto",
        "how the test rows are scored: labelled (your labels, the model's metric), tweeteval (3-class "
        "macro recall), sentiment140 (the positive/negative rows); auto: from the model's task and the file",
        choices=("auto", *TEST_TASKS),
    )


def recheck_margin_option(prefix: str = ""):
    """``--recheck-margin`` of export and pack: the int8 file's fp32 recheck margin they write."""
    from tinysent.core.meta import RECHECK_MARGIN
    from tinysent.data.config import option

    return option(
        RECHECK_MARGIN,
        f"{prefix}tweets whose int8 logits lie within this many logits of another label are scored again "
        "in fp32 (model.onnx) when the int8 file is used; 0: never. A model's own margin: the smallest on "
        "scripts/research/int8_recheck.py's grid that agrees with fp32 on >= 99.7 %% of unlabelled "
        "training tweets (the shipped 4-layer model's: 0.06; the 6-layer tinysent-6l's: 0.15)",
        metavar="M",
    )


def model_or_shipped(path: str | None) -> Path:
    """``--model``'s folder (a folder, or a name: shipped, fast, accurate, a model package's), or the
    model shipped in the package."""
    from tinysent.runtime.predictor import shipped_folder
    from tinysent.runtime.registry import resolve_model

    return resolve_model(path) if path else shipped_folder()


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default (or says it is required)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS:
            return text  # positionals and sub-commands: nothing to default
        if "%(default)" in text or "(default:" in text:
            return text  # the help already says what happens by default
        if action.required:
            return text + " (required)"
        default = action.default
        if isinstance(default, list) and default:
            default = ",".join(map(str, default))
        if isinstance(default, bool):
            default = "on" if default else "off"
        return f"{text} (default: {'none' if default in (None, []) else default})"


def _none_or(parse):
    def f(s: str):
        return None if s.lower() == "none" else parse(s)

    f.__name__ = parse.__name__
    return f


def _list_of(parse):
    def f(s: str):
        return None if s.lower() == "none" else [parse(x) for x in s.split(",") if x.strip()]

    f.__name__ = f"comma-separated {parse.__name__}s"
    return f


def _base_type(tp):
    """(scalar type, is a list, may be None) of an annotation: ``int | None`` → (int, False, True);
    ``list[int] | None`` → (int, True, True); ``str | dict`` → (str, False, False)."""
    args = list(typing.get_args(tp)) if isinstance(tp, types.UnionType) else [tp]
    optional = type(None) in args
    first = next(a for a in args if a is not type(None))
    if typing.get_origin(first) is list:
        return typing.get_args(first)[0], True, optional
    return first, False, optional


def add_config_args(p: argparse.ArgumentParser, cls, skip=()) -> None:
    """One option per dataclass field: typed from its annotation, documented from its metadata."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        meta = f.metadata
        if f.name in skip or meta.get("cli") is False:
            continue
        kind, is_list, optional = _base_type(hints[f.name])
        default = None if f.default is MISSING else f.default
        kw = {"help": meta.get("help") or f.name.replace("_", " ")}
        if meta.get("metavar"):
            kw["metavar"] = meta["metavar"]
        if meta.get("choices"):
            kw["choices"] = meta["choices"]
        flag = "--" + f.name.replace("_", "-")
        flags = [flag, *meta.get("aliases", ())]
        if meta.get("cli") == "positional":
            if is_list:
                nargs = meta.get("nargs") or ("+" if f.name == "paths" else "*")
                p.add_argument(f.name, nargs=nargs, **kw)
            else:
                p.add_argument(f.name, **kw)  # exactly one
            continue
        if meta.get("cli") == "append":
            p.add_argument(*flags, dest=f.name, action="append", default=[], **kw)
            continue
        if kind is bool:
            action = argparse.BooleanOptionalAction if default else "store_true"
            p.add_argument(*flags, dest=f.name, action=action, default=default, **kw)
            continue
        parse = {int: int, float: float}.get(kind, str)
        if meta.get("nargs"):
            kw["nargs"] = meta["nargs"]  # a list given as separate words, e.g. --neutral-band 0.35 0.65
        elif is_list:
            parse = _list_of(parse)
        elif optional and parse is not str:
            parse = _none_or(parse)
        p.add_argument(
            *flags, dest=f.name, type=parse, default=default, required=meta.get("cli") == "required", **kw
        )


def options_of(args, cls, **extra):
    """The command's config (its fields only) from parsed arguments."""
    names = {f.name for f in fields(cls)}
    return cls(**{**{k: v for k, v in vars(args).items() if k in names}, **extra})


ALLOWED_HOST_HELP = (
    "host names (comma-separated) by which browsers may reach this server, besides its --host, IP "
    "addresses and localhost: a request whose Host header names any other is refused (DNS rebinding)"
)
