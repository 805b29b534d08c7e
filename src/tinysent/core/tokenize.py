"""Tokenisation with the ``tokenizers`` library alone (no transformers): a model folder's
``tokenizer.json`` is the tokenizer, exactly as transformers' fast tokenizer runs it."""

from __future__ import annotations

from pathlib import Path

from tinysent.core.errors import ModelError

# One of these must be in a model folder: without them transformers quietly builds a tokenizer that
# maps every word to [UNK]. tokenizer.json is all the runtime needs; the others need transformers.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model", "vocab.json")


def rust_ids(rust, texts: list[str]) -> list[list[int]]:
    """Token ids from a ``tokenizers.Tokenizer``, with special tokens; without character offsets
    where the release can skip them (``encode_batch_fast``: half the time again)."""
    batch = getattr(rust, "encode_batch_fast", rust.encode_batch)
    return [e.ids for e in batch(texts, add_special_tokens=True)]


class Tokenizer:
    """A folder's tokenizer.json: token ids with the model's special tokens, no truncation or padding
    (the predictor truncates to the model's max length itself, keeping the final special token)."""

    def __init__(self, path: str | Path):
        from tokenizers import Tokenizer as Rust

        try:
            self.rust = Rust.from_file(str(path))
        except Exception as e:  # the library's own exception class
            raise ModelError(
                f"cannot read {path}: {str(e).splitlines()[0][:200]}; copy it again from the model's source"
            ) from None
        self.rust.no_truncation()
        self.rust.no_padding()

    def __call__(self, texts: list[str]) -> list[list[int]]:
        return rust_ids(self.rust, texts)

    @property
    def vocab_size(self) -> int:
        return self.rust.get_vocab_size()

    def get_vocab(self) -> dict[str, int]:
        """Token → id (the name transformers' tokenizers use: either kind answers it)."""
        return self.rust.get_vocab()


def load_tokenizer(folder: str | Path):
    """The folder's tokenizer: :class:`Tokenizer` from tokenizer.json, or (a folder with only
    vocab.txt / sentencepiece files) transformers' tokenizer, which the ``train`` extra installs."""
    folder = Path(folder)
    if (folder / "tokenizer.json").exists():
        return Tokenizer(folder / "tokenizer.json")
    if not any((folder / f).exists() for f in TOKENIZER_FILES):
        raise ModelError(
            f"{folder} has no tokenizer files ({', '.join(TOKENIZER_FILES)}): every word would be "
            "[UNK]; copy them from the model's source folder"
        )
    from tinysent.core.errors import require

    return require("transformers", "train").AutoTokenizer.from_pretrained(folder)


def truncate(ids: list[list[int]], max_length: int) -> list[list[int]]:
    """Token ids cut to ``max_length``, keeping the final ``[SEP]`` (what a tokenizer's own truncation
    gives a single text): tokenise once, then cut at a length chosen from the full lengths."""
    return [x if len(x) <= max_length else x[: max_length - 1] + x[-1:] for x in ids]


def encode(texts: list[str], tokenizer, max_length: int | None, chunk: int = 8192) -> list[list[int]]:
    """Token ids per text (with ``[CLS]``/``[SEP]``), truncated to ``max_length`` when given.
    ``tokenizer``: a :class:`Tokenizer` or a transformers tokenizer."""
    if isinstance(tokenizer, Tokenizer):
        ids = tokenizer(texts)
        return ids if max_length is None else truncate(ids, max_length)
    fast = getattr(tokenizer, "backend_tokenizer", None)
    if max_length is None and fast is not None and fast.truncation is None and fast.padding is None:
        # The Rust tokenizer directly: the same ids without the Python wrapper's per-call work
        # (~35 % of tokenising time, ~2 % of ONNX int8 scoring time).
        return rust_ids(fast, texts)
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
