"""``tinysent label``: a local page to label tweets one at a time, with the model in the loop."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from tinysent.apps.cli.options import ALLOWED_HOST_HELP
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
        "bearer token the page's calls must carry (or TINYSENT_TOKEN; needed beyond loopback); none: "
        "one made for this session, in the printed address",
        metavar="FILE",
    )
    insecure: bool = option(False, "allow a non-loopback --host without a token")
    allowed_host: str = option("", ALLOWED_HOST_HELP, metavar="NAMES")
    open: bool = option(False, "open the page in a browser")
    seed: int = option(0, "seed of the choice of tweets and of the rounds")


HELP = "label tweets on a local page, the model in the loop (then train on labels.csv)"
EXTRA = "label"
Options = LabelOptions


def names_of(labels: str) -> list[str]:
    """--labels as a list, by the rules ``tinysent train`` reads labels.csv with (so hours of labels
    never meet a label set training refuses)."""
    from tinysent.core.labels import alike_names, check_label_names

    names = [n.strip() for n in labels.split(",") if n.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise InputError(f"--labels {labels!r}: give two or more distinct labels, comma-separated")
    alike = alike_names(names)
    if alike:
        raise InputError(
            f"--labels: {' and '.join(map(repr, alike[0]))} differ only in case or spaces, which "
            "`tinysent train` reads as one label written two ways: give distinct names"
        )
    check_label_names(names, "--labels")
    return names


def run(args) -> int:
    import os
    import secrets

    names = names_of(args.labels)
    out = Path(args.out)
    if args.export:
        return export(args, out)
    if not Path(args.tweets).is_file():
        raise InputError(f"{args.tweets}: no such file (the tweets to label)")
    from tinysent.apps.serve import allowed_hosts, bearer_token
    from tinysent.data.outputs import folder_lock

    # Every call but the page itself carries a token: the one given, or one made for this session and
    # handed to the page in the printed address's fragment (never sent to a server, so another web
    # page cannot learn it); with the Host and Origin checks no other page can act for the user.
    token = bearer_token(args.token_file, args.host, args.insecure) or secrets.token_urlsafe(24)
    sock = bound_socket(args.host, args.port)  # before anything is read: a taken port fails at once
    out.parent.mkdir(parents=True, exist_ok=True)
    with sock, folder_lock(out):  # one page per labels file: a second is refused, before it reads anything
        from tinysent.apps.label.app import create_app
        from tinysent.apps.label.session import Session

        print(f"reading {args.tweets} ...", file=sys.stderr, flush=True)
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
        hosts = allowed_hosts(args.host, args.allowed_host)
        asgi, _ = create_app(session, out.with_name(out.stem + "-model"), token, hosts)
        port = sock.getsockname()[1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{host}:{port}/#token={token}"
        done = len(session.journal.labels)

        def announce():  # once the page answers: a browser opened now finds it
            print(
                f"labelling {len(session.texts):,} tweets into {out} ({done:,} labelled so far): {url}",
                flush=True,
            )
            if session.scoring:
                print(
                    f"the shipped model scores the {len(session.texts):,} tweets in the background for its "
                    "guesses; the page shows how far it is",
                    file=sys.stderr,
                )
            if session.journal.hand_edits:
                print(
                    f"note: took in {session.journal.hand_edits} edits of {out} made by hand "
                    "(the journal records them; U undoes them one by one)",
                    file=sys.stderr,
                )
            if session.journal.changed_tweets:
                print(
                    f"note: {args.tweets} changed since {out} began; its labels are kept by text",
                    file=sys.stderr,
                )
            if args.open:
                import webbrowser

                webbrowser.open(url)

        os.environ.setdefault("TINYSENT_ORT_SPIN", "0")
        try:
            serve_on(asgi, sock, announce)
        finally:
            session.close()
    return 0


def bound_socket(host: str, port: int):
    """A socket bound to (host, port), or one line naming the fix when the port is taken."""
    import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port} ({e.strerror or e}): another program holds the port, or the "
            "address is not this machine's; choose another --port (0: any free one)"
        ) from None
    return sock


def serve_on(asgi, sock, announce) -> None:
    """uvicorn on the bound ``sock``; ``announce()`` once it answers."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning"))

    def wait():
        while not server.started and not server.should_exit:
            threading.Event().wait(0.02)
        if server.started:
            announce()

    threading.Thread(target=wait, daemon=True).start()
    server.run(sockets=[sock])


def export(args, out: Path) -> int:
    from tinysent.apps.cli.train import train_argv
    from tinysent.apps.label.session import export_commands

    if not out.is_file():
        raise InputError(f"--export: no labels at {out} yet (label some first: tinysent label TWEETS ...)")
    from tinysent.apps.label.journal import read_labels_csv

    read_labels_csv(out, names_of(args.labels))  # a label outside --labels: one line naming its row
    train = ["--base", args.base, "--train-data", str(out), "--out", args.export, "--quiet"]
    rc = train_argv([*train, *shlex.split(args.train_options)])
    if rc == 0:
        print("\n".join(export_commands(Path(args.export))))
    return rc
