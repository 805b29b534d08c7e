"""Batch by length, pad per batch: tweets are short (23 tokens on average, p95 41) and vary, so fixed
padding to the maximum wastes most of the compute. Token ids come from :mod:`tinysent.data.tokens`."""

from __future__ import annotations

import math

import numpy as np
import torch


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


def make_loader(ids, labels, batch_size: int, seed: int, shuffle: bool, num_workers: int = 0):
    """A DataLoader of length-grouped, dynamically padded batches (``labels`` may be None)."""
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    ds = TokenDataset(ids, labels)
    sampler = BatchList(lengths, batch_size, seed, shuffle)
    return torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=num_workers)
