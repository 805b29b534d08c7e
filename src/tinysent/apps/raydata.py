"""Batch scoring on a Ray cluster (Ray Data): the same scoring as ``tinysent predict --output``,
one input file at a time, spread over an actor pool.

Why files are the unit of work: each file is scored by :func:`tinysent.apps.score.score_file`, the
single-process code, so a file gives exactly the labels and probabilities ``predict --output``
gives for it (int8 activations are scaled per model call, so the way a file is cut into calls
matters), bad rows become the same error records, and a file's output shard is written whole
(to a temporary name, then moved) or not at all. A rerun skips the shards that exist; a killed
actor is restarted by Ray and its file is scored again from the start, so nothing is lost or
written twice. Give the archive as many files (hundreds of thousands of tweets each): one very
large file is scored by one actor.

Each actor holds the model once (the int8 ONNX export for the shipped model), sent from the
driver through Ray's object store, so nodes need tinysent installed but no copy of the model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from tinysent.apps.score import ScoreError
from tinysent.core.errors import TinysentError

INPUT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".txt", ".parquet")
OUTPUT_FORMATS = ("parquet", "csv", "jsonl")


# The files a Predictor reads from a model folder (ONNX or PyTorch weights, tokenizer, metadata).
def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ScoreError("--engine ray needs Ray Data: pip install 'tinysent[ray]'") from None
    return ray


def _fs(url: str):
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def _local(fs) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _full(fs, path: str) -> str:
    """A path as the driver and every actor can name it: local paths stay paths, others get their URL."""
    return path if _local(fs) else fs.unstrip_protocol(path)


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files named by ``inputs`` (files, folders, globs; local or fsspec URLs such as s3://), in a
    stable order. Folders give their files with a known suffix; a name that matches nothing is an
    error, not an empty run."""
    files: list[str] = []
    for spec in inputs:
        fs, path = _fs(spec)
        if any(c in path for c in "*?["):
            found = sorted(p for p in fs.glob(path) if fs.isfile(p))
        elif fs.isdir(path):
            found = sorted(p for p in fs.find(path) if p.lower().endswith(INPUT_SUFFIXES))
        elif fs.isfile(path):
            found = [path]
        else:
            raise ScoreError(f"{spec}: no such file or folder")
        if not found:
            raise ScoreError(f"{spec}: no input files there ({', '.join(INPUT_SUFFIXES)})")
        files += [_full(fs, p) for p in found]
    bad = [f for f in files if not f.lower().endswith(INPUT_SUFFIXES)]
    if bad:
        raise ScoreError(f"{bad[0]}: not a scorable file; inputs end in {', '.join(INPUT_SUFFIXES)}")
    if len(set(files)) != len(files):
        raise ScoreError("an input file is named twice: each file is scored once")
    return files


def shard_name(source: str, fmt: str, key: str | None = None) -> str:
    """The output shard of an input file: its name plus a hash of its full path (two files called
    part-0.csv in different folders do not collide), and with ``key`` a hash of what its rows depend
    on (:func:`shard_key`), so a shard is reused only for the same model, options and input."""
    stem = Path(source.rstrip("/")).name.rsplit(".", 1)[0]
    base = f"{stem}-{hashlib.sha1(source.encode()).hexdigest()[:10]}"
    return f"{base}-{key[:10]}.{fmt}" if key else f"{base}.{fmt}"


def shard_key(source: str, model_pins, options: dict) -> str:
    """A hash of what a shard's rows depend on: the model (its pinned files), the options and the
    input file as it is now (size and modification time, or an object store's ETag)."""
    import json

    fs, path = _fs(source)
    info = fs.info(path)
    stamp = [info.get(k) for k in ("size", "mtime", "LastModified", "ETag", "created")]
    doc = json.dumps([model_pins, options, stamp], sort_keys=True, default=str)
    return hashlib.sha1(doc.encode()).hexdigest()


def _crash_drill() -> None:
    """Fault drill for tests and operators: with ``TINYSENT_RAY_CRASH_ONCE=FILE`` set, the first
    actor to get here (the one that creates FILE) dies as a killed process would, after scoring its
    file and before publishing the shard; Ray restarts it and scores the file again."""
    marker = os.environ.get("TINYSENT_RAY_CRASH_ONCE")
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os._exit(1)


class ShardScorer:
    """A Ray Data actor: loads the model once, then scores one input file per call."""

    def __init__(self, model_files, output: str, fmt: str, options: dict, threads: int):
        import ray

        from tinysent.runtime.predictor import Predictor

        if isinstance(model_files, ray.ObjectRef):
            model_files = ray.get(model_files)
        options = dict(options)
        self.local = Path(tempfile.mkdtemp(prefix="tinysent-actor-"))
        for name, data in model_files.items():
            (self.local / name).write_bytes(data)
        self.predictor = Predictor.from_dir(
            self.local,
            backend=options.pop("backend"),
            precision=options.pop("precision"),
            recheck_margin=options.pop("recheck_margin"),
            threads=threads,
        )
        self.output, self.fmt, self.options = output, fmt, options

    def __call__(self, batch: dict) -> dict:
        from tinysent.apps.score import score_file

        out = {k: [] for k in ("source", "shard", "scored", "errors", "seconds", "failed")}
        names = dict(zip(batch["source"], batch["name"]))
        for source in batch["source"]:
            t0 = time.perf_counter()
            work = Path(tempfile.mkdtemp(prefix="tinysent-shard-", dir=self.local))
            local_in = work / "input"
            try:
                fs, path = _fs(source)
                local_in = work / ("input" + Path(path).suffix.lower())
                fs.get(path, str(local_in))  # a local file is copied too: the shard is read at leisure
                name = names[source]
                local_out = work / name
                counts = score_file(self.predictor, local_in, local_out, progress=False, **self.options)
                _crash_drill()
                ofs, opath = _fs(self.output)
                dest = opath.rstrip("/") + "/" + name
                if _local(ofs):
                    shutil.move(local_out, dest + ".partial")  # the actor's temp may be another disk
                    os.replace(dest + ".partial", dest)  # atomic: a shard is whole or absent
                else:
                    ofs.put(str(local_out), dest)  # object stores publish an object whole
                failed = ""
            except Exception as e:  # one bad file (corrupt Parquet, UTF-16 CSV) is reported, not fatal
                counts = {"scored": 0, "errors": 0}
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                if not isinstance(e, (TinysentError, OSError)):
                    msg = f"{type(e).__name__}: {msg}"
                failed = msg.replace(str(local_in), source)[:500]  # the user's file, not our copy
            finally:
                shutil.rmtree(work, ignore_errors=True)
            out["source"].append(source)
            out["shard"].append(names[source] if not failed else "")
            out["scored"].append(counts["scored"])
            out["errors"].append(counts["errors"])
            out["seconds"].append(time.perf_counter() - t0)
            out["failed"].append(failed)
        return out


def _model_files(
    folder, backend: str, precision: str, recheck_margin: float | None = None
) -> dict[str, bytes]:
    """The files of the model the driver would load (a ``ModelFolder``), as bytes for the object
    store: its metadata, tokenizer and the weight file ``backend`` / ``precision`` pick (for the
    shipped model: its int8 graph), with int8's fp32 recheck graph and the weights they read.
    Checked, not loaded."""
    weights = folder.weights(backend, precision)
    _, fp32 = folder.recheck(weights, recheck_margin)
    names = folder.files([weights] + ([fp32] if fp32 is not None else []))
    return {n: (folder.path / n).read_bytes() for n in names}


def score_dataset(
    inputs: list[str] | str,
    output: str,
    model: str | None = None,
    column: str = "text",
    id_column: str | None = None,
    fmt: str = "parquet",
    workers: int = 2,
    batch_size: int = 256,
    address: str | None = None,
    backend: str = "auto",
    precision: str = "auto",
    binary: bool = False,
    neutral_band=None,
    progress: bool = True,
    recheck_margin: float | None = None,
) -> dict:
    """Score every input file into one shard under ``output`` (a folder, local or fsspec URL) with
    Ray Data: an actor pool of ``workers`` actors (one CPU each), ``batch_size`` texts per model call.
    Connects to ``address`` (or ``RAY_ADDRESS``) when given, else starts a local Ray. Shards already in
    ``output`` are skipped. Returns counts and the shards written."""
    ray = _ray()
    if fmt not in OUTPUT_FORMATS:
        raise ScoreError(f"output format must be one of {', '.join(OUTPUT_FORMATS)} (got {fmt!r})")
    if workers < 1 or batch_size < 1:
        raise ScoreError("--workers and --batch-size must be at least 1")
    files = expand_inputs([inputs] if isinstance(inputs, str) else list(inputs))
    ofs, opath = _fs(output)
    if ofs.isfile(opath):
        raise ScoreError(f"{output} is a file: --output of --engine ray is a folder of shards")
    ofs.makedirs(opath, exist_ok=True)
    have = {Path(p).name for p in ofs.ls(opath, detail=False)}
    options = {
        "column": column,
        "id_column": id_column,
        "batch_size": batch_size,
        "binary": binary,
        "neutral_band": neutral_band,
        "backend": backend,
        "precision": precision,
        "recheck_margin": recheck_margin,
    }
    from tinysent.core.folder import ModelFolder
    from tinysent.core.labels import LabelModel
    from tinysent.runtime.predictor import shipped_folder

    folder = ModelFolder(model or shipped_folder())
    LabelModel.from_meta(folder.meta).check(binary, neutral_band)  # here, not in every actor
    names = {f: shard_name(f, fmt, shard_key(f, folder.meta.files, options)) for f in files}
    for f in files:  # a shard of this input from another model, options or version of the file
        base = shard_name(f, fmt).rsplit(".", 1)[0]
        stale = sorted(
            n for n in have if n != names[f] and (n == f"{base}.{fmt}" or n.startswith(base + "-"))
        )
        if stale:
            raise ScoreError(
                f"{output} holds {stale[0]}, a shard of {f} scored with another model, other options or "
                "another version of the file: delete it (or the folder) or name another --output"
            )
    todo = [f for f in files if names[f] not in have]
    summary = {"output": output, "files": len(files), "skipped_complete": len(files) - len(todo)}
    if not todo:
        return {**summary, "scored": 0, "errors": 0, "shards": [], "failed_files": []}
    model_files = _model_files(folder, backend, precision, recheck_margin)

    address = address or os.environ.get("RAY_ADDRESS")
    started = not ray.is_initialized()
    if started:
        # A local Ray listens on loopback only; a cluster is reached at its address.
        kw = (
            {"address": address}
            if address
            else {"num_cpus": workers, "include_dashboard": False, "_node_ip_address": "127.0.0.1"}
        )
        ray.init(ignore_reinit_error=True, log_to_driver=False, logging_level=logging.WARNING, **kw)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress
        ds = ray.data.from_items(
            [{"source": f, "name": names[f]} for f in todo], override_num_blocks=len(todo)
        )
        ds = ds.map_batches(
            ShardScorer,
            fn_constructor_kwargs={
                "model_files": ray.put(model_files),
                "output": output,
                "fmt": fmt,
                "options": options,
                "threads": 1,
            },
            batch_size=1,  # one file per call: a file is one shard
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
        )
        try:
            rows = ds.take_all()
        except Exception as e:  # Ray wraps an actor's exception: surface ours as the clear error it is
            cause = e
            while cause is not None and not isinstance(cause, TinysentError):
                cause = cause.__cause__
            if cause is None:
                raise
            raise ScoreError(f"{cause} (shards already written are kept; a rerun skips them)") from None
    finally:
        if started:
            ray.shutdown()
    rows.sort(key=lambda r: r["source"])
    done = [r for r in rows if not r["failed"]]
    return {
        **summary,
        "scored": int(sum(r["scored"] for r in done)),
        "errors": int(sum(r["errors"] for r in done)),
        "shards": [{k: r[k] for k in ("source", "shard", "scored", "errors")} for r in done],
        "failed_files": [{"source": r["source"], "error": r["failed"]} for r in rows if r["failed"]],
    }
