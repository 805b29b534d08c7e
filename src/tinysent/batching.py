"""Tokenise once, batch by length, pad per batch: tweets are short (23 tokens on average, p95 41)
and vary, so fixed padding to the maximum wastes most of the compute."""

from __future__ import annotations

import math

import numpy as np
import torch


def encode(texts: list[str], tokenizer, max_length: int | None, chunk: int = 8192) -> list[list[int]]:
    """Token ids per text (with [CLS]/[SEP]), truncated to ``max_length`` when given."""
    fast = getattr(tokenizer, "backend_tokenizer", None)
    if max_length is None and fast is not None and fast.truncation is None and fast.padding is None:
        # The Rust tokenizer directly: the same ids without the Python wrapper's per-call work
        # (~35 % of tokenising time, ~2 % of ONNX int8 scoring time), and without character offsets
        # where the tokenizers release can skip them (encode_batch_fast: half the time again).
        batch = getattr(fast, "encode_batch_fast", fast.encode_batch)
        return [e.ids for e in batch(texts, add_special_tokens=True)]
    ids: list[list[int]] = []
    for i in range(0, len(texts), chunk):
        enc = tokenizer(
            texts[i : i + chunk],
            truncation=max_length is not None,
            max_length=max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        ids.extend(enc["input_ids"])
    return ids


def choose_max_length(lengths: np.ndarray, quantile: float = 99.5, cap: int = 128) -> tuple[int, float]:
    """(max length, share of texts it covers whole): the quantile of lengths, at least 16, at most cap."""
    n = int(min(cap, max(16, math.ceil(np.percentile(lengths, quantile)))))
    return n, float((lengths <= n).mean())


def length_grouped_batches(
    lengths: np.ndarray, batch_size: int, seed: int, epoch: int = 0, shuffle: bool = True, mega: int = 50
) -> list[list[int]]:
    """Batches of similar length: shuffle, sort within chunks of ``mega`` batches, shuffle the batches.

    Without shuffle (evaluation) the batches are simply sorted by length.
    """
    n = len(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    rng = np.random.Generator(np.random.PCG64([seed, epoch]))
    perm = rng.permutation(n)
    span = batch_size * mega
    batches = []
    for s in range(0, n, span):
        chunk = perm[s : s + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")[::-1]]
        batches.extend(chunk[i : i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    # Shuffle the full batches; a short one goes last, where Accelerate's even split expects it.
    full = [b for b in batches if len(b) == batch_size]
    short = [b for b in batches if len(b) < batch_size]
    order = rng.permutation(len(full))
    return [full[i] for i in order] + short


class TokenDataset(torch.utils.data.Dataset):
    def __init__(self, ids: list[list[int]], labels=None, extra: dict | None = None):
        self.ids = ids
        self.labels = None if labels is None else np.asarray(labels)
        self.extra = extra or {}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        item = {"input_ids": self.ids[i], "index": i}
        if self.labels is not None:
            item["labels"] = int(self.labels[i])
        return item


def collate(items: list[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pad to the longest item in the batch."""
    width = max(len(it["input_ids"]) for it in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for r, it in enumerate(items):
        row = it["input_ids"]
        ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)  # copies: store rows are read-only views
        mask[r, : len(row)] = 1
    out = {"input_ids": ids, "attention_mask": mask, "index": torch.tensor([it["index"] for it in items])}
    if "labels" in items[0]:
        out["labels"] = torch.tensor([it["labels"] for it in items], dtype=torch.long)
    return out


class BatchList(torch.utils.data.Sampler):
    """A fixed list of index batches as a batch sampler; ``set_epoch`` reshuffles it."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, shuffle: bool):
        self.lengths, self.batch_size, self.seed, self.shuffle = lengths, batch_size, seed, shuffle
        self.epoch = 0
        self.batch_size_ = batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self):
        return length_grouped_batches(self.lengths, self.batch_size, self.seed, self.epoch, self.shuffle)

    def __iter__(self):
        yield from self._batches()

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


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
        """Rows ``idx``, each cut to ``max_length`` keeping its final [SEP]."""
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
        """Open the store for ``key`` under ``root``, building it first (atomically) when missing.
        ``texts_fn()`` returns the normalised texts, called only when building."""
        import shutil
        from pathlib import Path

        folder = Path(root) / key
        if not (folder / "offsets.npy").exists():
            tmp = Path(root) / (key + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            ids = encode(texts_fn(), tokenizer, cap)
            lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
            offsets = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            flat = np.fromiter((t for row in ids for t in row), dtype=np.int32, count=int(offsets[-1]))
            np.save(tmp / "ids.npy", flat, allow_pickle=False)
            np.save(tmp / "offsets.npy", offsets, allow_pickle=False)
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
        return cls(folder)
