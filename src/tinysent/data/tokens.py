"""From a data file to token ids ready for training: read, deduplicate, split (stratified, seeded),
subsample, normalise, tokenise; and the memory-mapped token cache that makes later runs on the same
file start in seconds.

Every stage that needs tokenised tweets (training, distillation, calibration, the int8 check, the
benchmarks) gets them here, so they all see the same split for the same config.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinysent.core.errors import DataError, InputError
from tinysent.core.files import cache_dir, file_sha256
from tinysent.core.meta import ModelMeta
from tinysent.core.normalize import Normalizer
from tinysent.core.tokenize import encode
from tinysent.data import sentiment140 as D
from tinysent.data.config import TrainConfig


def choose_max_length(lengths: np.ndarray, quantile: float = 99.5, cap: int = 128) -> tuple[int, float]:
    """(max length, share of texts it covers whole): the quantile of lengths, at least 16, at most cap."""
    n = int(min(cap, max(16, math.ceil(np.percentile(lengths, quantile)))))
    return n, float((lengths <= n).mean())


@dataclass
class Prepared:
    """Tokenised train and validation sets, and what went into them."""

    train_ids: list[list[int]]
    train_labels: np.ndarray
    val_ids: list[list[int]]
    val_labels: np.ndarray
    max_length: int
    coverage: float
    data_sha256: str | None
    stats: dict
    train_texts: list[str] | None = None  # the raw training texts, in the order of train_ids


def prepare_data(
    cfg: TrainConfig, tokenizer, normalizer: Normalizer, corpus: D.Corpus | None = None
) -> Prepared:
    """Read, deduplicate, split (stratified, by seed), subsample, normalise and tokenise.

    With a data file (not an in-memory corpus) and ``cfg.token_cache``, the whole corpus is tokenised
    once into a memory-mapped store in the user cache and later runs only slice it.
    """
    sha = None
    if corpus is None:
        file, member = D.resolve(cfg.train_data, "train")
        corpus = D.read(file, member=member)
        sha = file_sha256(file) + (f"::{member}" if member else "")
        if member == D.TEST_MEMBER or file.name == D.TEST_MEMBER or sha == D.TEST_SHA256:
            logging.getLogger(__name__).warning(
                "%s is Sentiment140's TEST file: a model trained on it cannot be evaluated on it; "
                "train on the training file",
                file,
            )
    corpus = corpus.polar()
    counts = corpus.label_counts()
    if len(corpus) and min(counts["negative"], counts["positive"]) == 0:
        only = "negative" if counts["negative"] else "positive"
        raise DataError(
            f"{corpus.source} has only {only} rows ({len(corpus):,}): a model would learn one answer. "
            "Train on data with both labels (Sentiment140's training file is sorted by label: use the "
            "whole file, or --max-train N for a stratified sample of it)"
        )
    stats = {"rows_read": len(corpus), "malformed": len(corpus.problems)}
    if cfg.dedupe:
        corpus = D.deduplicate(corpus, drop_duplicates=True, drop_conflicts=True)
        stats["rows_after_dedupe"] = len(corpus)
    tr, va = D.stratified_split(corpus.polarity, cfg.validation_fraction, cfg.seed)
    if cfg.max_train:
        tr = tr[D.stratified_sample(corpus.polarity[tr], cfg.max_train, cfg.seed)]
    if cfg.max_val:
        va = va[D.stratified_sample(corpus.polarity[va], cfg.max_val, cfg.seed)]
    labels = corpus.classes
    if sha is not None and cfg.token_cache:
        key = TokenStore.key(sha, f"binary,dedupe={cfg.dedupe}", tokenizer, normalizer.config.to_dict(), 256)
        t0 = time.time()
        store = TokenStore.get_or_build(
            cache_dir() / "tokens", key, lambda: normalizer.many(corpus.texts), tokenizer
        )
        stats["token_store"] = {"key": key, "rows": len(store), "open_or_build_s": round(time.time() - t0, 2)}
        max_length, coverage = cfg.max_length, None
        if max_length is None:
            max_length, coverage = choose_max_length(store.lengths(tr[:20000]))
        if coverage is None:
            coverage = float((store.lengths(tr[:20000]) <= max_length).mean())
        train_ids, val_ids = store.rows(tr, max_length), store.rows(va, max_length)
    else:
        train_texts = normalizer.many([corpus.texts[i] for i in tr])
        val_texts = normalizer.many([corpus.texts[i] for i in va])
        probe = encode(train_texts[:20000], tokenizer, None)
        lengths = np.array([len(x) for x in probe])
        max_length = cfg.max_length or choose_max_length(lengths)[0]
        coverage = float((lengths <= max_length).mean())
        train_ids = encode(train_texts, tokenizer, max_length)
        val_ids = encode(val_texts, tokenizer, max_length)
    stats.update(train_rows=len(tr), val_rows=len(va), max_length=max_length, coverage=round(coverage, 5))
    raw = [corpus.texts[i] for i in tr]
    return Prepared(train_ids, labels[tr], val_ids, labels[va], max_length, coverage, sha, stats, raw)


class TokenStore:
    """Token ids of a whole corpus, tokenised once and memory-mapped from the user cache.

    Keyed by the data file's sha256, the rows kept (binary, deduplicated), the tokenizer and the
    normaliser config, so any later run on the same data reuses it whatever its split, sample or max
    length (rows are stored untruncated, up to ``cap`` tokens, and cut when read).
    """

    FORMAT = 1

    def __init__(self, folder):
        from pathlib import Path

        folder = Path(folder)
        self.ids = np.load(folder / "ids.npy", mmap_mode="r")
        self.offsets = np.load(folder / "offsets.npy", mmap_mode="r")
        self.folder = folder

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self, idx: np.ndarray) -> np.ndarray:
        return (self.offsets[idx + 1] - self.offsets[idx]).astype(np.int64)

    def rows(self, idx, max_length: int) -> list[np.ndarray]:
        """Rows ``idx``, each cut to ``max_length`` keeping its final ``[SEP]``."""
        out = []
        for i in np.asarray(idx):
            row = self.ids[self.offsets[i] : self.offsets[i + 1]]
            out.append(row if len(row) <= max_length else np.concatenate([row[: max_length - 1], row[-1:]]))
        return out

    @staticmethod
    def key(data_sha: str, rows_desc: str, tokenizer, normalizer_config: dict, cap: int) -> str:
        import hashlib
        import json

        spec = json.loads(tokenizer.backend_tokenizer.to_str())
        for transient in ("truncation", "padding"):  # set by earlier calls, not part of the vocabulary
            spec.pop(transient, None)
        tok = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        payload = json.dumps(
            [TokenStore.FORMAT, data_sha, rows_desc, tok, normalizer_config, cap], sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:24]

    @classmethod
    def get_or_build(cls, root, key: str, texts_fn, tokenizer, cap: int = 256) -> TokenStore:
        """Open the store for ``key`` under ``root``, building it first when missing. ``texts_fn()``
        returns the normalised texts, called only when building. Each builder writes its own
        temporary folder (``KEY.tmp-PID``) and renames it into place; when several build at once, the
        first rename wins and the others open the winner's store. A builder killed midway leaves a
        folder that the next build removes (its process is gone)."""
        import os
        import shutil
        from pathlib import Path

        root = Path(root)
        folder = root / key
        if (folder / "offsets.npy").exists():
            return cls(folder)
        root.mkdir(parents=True, exist_ok=True)
        for stale in root.glob(key + ".tmp*"):  # left by a killed builder (or an older version)
            pid = stale.name.rpartition("-")[2]
            if not (pid.isdigit() and _alive(int(pid))):
                shutil.rmtree(stale, ignore_errors=True)
        tmp = root / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            ids = _encode_with_progress(texts_fn(), tokenizer, cap)
            lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
            offsets = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            flat = np.fromiter((t for row in ids for t in row), dtype=np.int32, count=int(offsets[-1]))
            np.save(tmp / "ids.npy", flat, allow_pickle=False)
            np.save(tmp / "offsets.npy", offsets, allow_pickle=False)
            if folder.exists() and not (folder / "offsets.npy").exists():  # a damaged one: replaced
                shutil.rmtree(folder, ignore_errors=True)
            try:
                tmp.rename(folder)
            except OSError:  # another builder's store is in place: the same rows, use it
                if not (folder / "offsets.npy").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return cls(folder)


def _encode_with_progress(texts: list[str], tokenizer, cap: int, chunk: int = 50_000) -> list:
    """``encode`` in chunks under a progress bar (on a terminal): building the store for 1.6M tweets
    takes 1-2 minutes once, which should not look like a hang."""
    from tqdm.auto import tqdm

    ids: list = []
    with tqdm(total=len(texts), desc="token store (built once)", unit="tweet", disable=None) as bar:
        for i in range(0, len(texts), chunk):
            ids += encode(texts[i : i + chunk], tokenizer, cap)
            bar.update(min(chunk, len(texts) - i))
    return ids


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def validation_split(model_dir: str | Path, tokenizer, data: str | None = None):
    """The model's validation split rebuilt from its saved config (same data, seed, fractions): the
    place to choose anything about a trained model (temperature, int8 scheme), never the test set."""
    meta = ModelMeta.load(model_dir)
    cfg = TrainConfig.from_dict(
        {
            **meta.config,
            "train_data": data or meta.config.get("train_data", meta.config.get("data")),
            "max_length": meta.max_length,
            "max_train": 2,  # only the validation split is used; it does not depend on max_train
        }
    )
    if cfg.train_data is None:
        raise InputError("the model's config names no training data: pass --train-data")
    return prepare_data(cfg, tokenizer, Normalizer(meta.normalizer_config))
