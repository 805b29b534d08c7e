"""``tinysent data check|download|sample``: look at data files before training on them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinysent.apps.cli.options import options_of
from tinysent.data.config import ColumnsConfig, option


@dataclass
class DataCheckOptions(ColumnsConfig):
    paths: list[str] = option(
        None,
        "files or folders to check: Sentiment140 (CSV, .gz, .xz, the official zip), SemEval Task 4A "
        "(*-A.tsv or its folder), TweetEval (a folder), your own labelled tweets (CSV/TSV with a header, "
        "JSONL, Parquet)",
        cli="positional",
    )
    strict: bool = option(False, "stop at the first malformed row")
    compact: bool = option(False, "one line of JSON per file")


@dataclass
class DataDownloadOptions:
    dest: str | None = option(None, "where to put the archive (default: the user cache)", metavar="DIR")


@dataclass
class DataSampleOptions:
    train_data: str | None = option(
        None, "training file or folder (default: the cached download)", metavar="PATH"
    )
    n: int = option(None, "tweets to keep (stratified by label)", cli="required")
    seed: int = option(0, "sampling seed")
    out: str = option(None, "CSV file to write (polarity,text)", cli="required", metavar="FILE")


def check(args) -> int:
    from tinysent.core.errors import DataError
    from tinysent.data.labelled import SPLITS, check_labelled, read_as_labelled
    from tinysent.data.semeval import corpora
    from tinysent.data.sentiment140 import summary

    rc = 0
    indent = None if args.compact else 2
    read_options = options_of(args, ColumnsConfig).read_options
    for path in args.paths:
        if not Path(path).exists():  # each path is checked on its own: the others are still read
            print(json.dumps({"file": str(path), "error": f"{path}: no such file or folder"}), flush=True)
            rc = 1
            continue
        try:
            labelled = read_as_labelled(path, read_options.get("mapping")) and not str(path).endswith(
                "-A.tsv"
            )
        except DataError as e:
            print(json.dumps({"file": str(path), "error": str(e)}), flush=True)
            rc = 1
            continue
        if labelled:
            # your own labelled tweets: per file (or TweetEval split), labels, rejected rows, duplicates;
            # streamed (memory does not grow with the file's texts)
            splits = (
                [s for s in SPLITS if (Path(path) / f"{s}_text.txt").exists()]
                if Path(path).is_dir()
                else ["train"]
            )
            for split in splits:
                try:
                    out = check_labelled(path, split, **read_options)
                except DataError as e:
                    out, rc = {"file": str(path), "error": str(e)}, 1
                print(json.dumps(out, indent=indent), flush=True)
            continue
        for _, read in corpora(Path(path), args.strict):
            try:
                corpus = read()
            except DataError as e:
                print(json.dumps({"file": str(path), "error": str(e)}), flush=True)
                rc = 1
                continue
            print(json.dumps(summary(corpus), indent=indent), flush=True)
    return rc


def download(args) -> int:
    from tinysent.data import sentiment140 as D

    print(D.download(dest=args.dest))
    return 0


def sample(args) -> int:
    """Stratified subsample of a training file, written as 2-column polarity,text (for moving data)."""
    from tinysent.data import sentiment140 as D

    corpus = D.load(args.train_data, "train")
    idx = D.stratified_sample(corpus.polarity, args.n, args.seed)
    D.write_csv(corpus.subset(idx), args.out)
    print(json.dumps({"out": args.out, "rows": len(idx), "labels": corpus.subset(idx).label_counts()}))
    return 0


COMMANDS = [
    (
        "check",
        "JSON summary per file: rows, labels, malformed rows, duplicates, lengths",
        DataCheckOptions,
        check,
    ),
    (
        "download",
        "fetch the official archive (sha256-checked, resumable) to the cache",
        DataDownloadOptions,
        download,
    ),
    ("sample", "write a stratified subsample of a training file (polarity,text)", DataSampleOptions, sample),
]
