"""``tinysent label``: a local page to label tweets one at a time, with the model in the loop."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from tinysent.core.errors import InputError
from tinysent.data.config import option


@dataclass
class LabelOptions:
    tweets: str = option(
        None,
        "the tweets: a text file (one a line) or any file `predict --input` reads (CSV/TSV, JSONL, Parquet)",
        cli="positional",
    )
    labels: str = option(
        None, "the label set, comma-separated (e.g. negative,neutral,positive)", cli="required"
    )
    out: str = option(
        None,
        "labels.csv to write (text,label: what `tinysent train` reads); reopening it resumes",
        cli="required",
        metavar="FILE",
    )
    column: str = option("text", "text column of a CSV/JSONL/Parquet tweets file")
    base: str = option("shipped", "the model each background round (and --export) fine-tunes from")
    every: int = option(50, "fine-tune a new model in the background every this many labels (0: never)")
    min_per_label: int = option(3, "no round before every label has this many tweets")
    train_options: str = option(
        "",
        "more `tinysent train` options for the rounds and the final model, e.g. '--epochs 2'",
        metavar="OPTS",
    )
    export: str | None = option(
        None,
        "no page: train the final model on --out's labels into this folder (train's defaults) and print "
        "the commands to evaluate and serve it",
        metavar="DIR",
    )
    host: str = option("127.0.0.1", "bind address (loopback by default)")
    port: int = option(8100, "TCP port (0: any free one)")
    token_file: str | None = option(
        None,
        "bearer token the page's calls must carry (or TINYSENT_TOKEN); needed beyond loopback",
        metavar="FILE",
    )
    insecure: bool = option(False, "allow a non-loopback --host without a token")
    open: bool = option(False, "open the page in a browser")
    seed: int = option(0, "seed of the choice of tweets and of the rounds")


HELP = "label tweets on a local page, the model in the loop (then train on labels.csv)"
EXTRA = "label"
Options = LabelOptions


def names_of(labels: str) -> list[str]:
    from tinysent.core.labels import check_label_names

    names = [n.strip() for n in labels.split(",") if n.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise InputError(f"--labels {labels!r}: give two or more distinct labels, comma-separated")
    check_label_names(names, "--labels")
    return names


def run(args) -> int:
    import os
    import socket

    names = names_of(args.labels)
    out = Path(args.out)
    if args.export:
        return export(args, out)
    if not Path(args.tweets).is_file():
        raise InputError(f"{args.tweets}: no such file (the tweets to label)")
    from tinysent.apps.serve import bearer_token
    from tinysent.data.outputs import folder_lock

    token = bearer_token(args.token_file, args.host, args.insecure)
    port = args.port
    if port == 0:
        with socket.socket() as s:
            s.bind((args.host, 0))
            port = s.getsockname()[1]
    out.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):  # one page per labels file: a second is refused, before it reads anything
        from tinysent.apps.label.app import create_app
        from tinysent.apps.label.session import Session

        session = Session(
            args.tweets,
            names,
            out,
            args.column,
            args.base,
            args.every,
            args.min_per_label,
            args.seed,
            shlex.split(args.train_options),
        )
        asgi, _ = create_app(session, out.with_name(out.stem + "-model"), token)
        url = f"http://{args.host}:{port}/" + (f"#token={token}" if token else "")
        done = len(session.journal.labels)
        print(
            f"labelling {len(session.texts):,} tweets into {out} ({done:,} labelled so far): {url}",
            flush=True,
        )
        if session.journal.changed_tweets:
            print(
                f"note: {args.tweets} changed since {out} began; its labels are kept by text", file=sys.stderr
            )
        if args.open:
            import webbrowser

            webbrowser.open(url)
        import uvicorn

        os.environ.setdefault("TINYSENT_ORT_SPIN", "0")
        try:
            uvicorn.run(asgi, host=args.host, port=port, log_level="warning")
        finally:
            session.close()
    return 0


def export(args, out: Path) -> int:
    from tinysent.apps.cli import main
    from tinysent.apps.label.session import export_commands

    if not out.is_file():
        raise InputError(f"--export: no labels at {out} yet (label some first: tinysent label TWEETS ...)")
    train = ["train", "--base", args.base, "--train-data", str(out), "--out", args.export, "--quiet"]
    rc = main([*train, *shlex.split(args.train_options)])
    if rc == 0:
        print("\n".join(export_commands(Path(args.export))))
    return rc
