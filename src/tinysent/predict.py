"""Prediction: one ``predict`` that takes a string or a list, normalising exactly as in training.

Two backends behind one interface: PyTorch (any model folder) and ONNX Runtime (a folder written by
``tinysent export``); ``load`` picks ONNX when the folder has it.

Defined behaviour for awkward input (also in the README):
- a non-string raises ``TypeError`` naming its position; nothing is scored;
- an empty or whitespace-only string is scored like any text (the model sees only ``[CLS]`` ``[SEP]``),
  and its record says ``"empty": true``;
- a text longer than the model's max length is truncated to it, and its record says
  ``"truncated": true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .config import ModelMeta
from .dataset import encode
from .normalize import Normalizer
from .numerics import binary_share, softmax

SHIPPED_DIR = Path(__file__).parent / "shipped" / "tinysent-tinybert-4l"
ONNX_FILES = {"int8": "model.int8.onnx", "fp32": "model.onnx"}  # "auto" takes the first present
BACKENDS = ("auto", "torch", "onnx")
# One of these must be in a model folder: without them transformers quietly builds a tokenizer
# that maps every word to [UNK].
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model", "vocab.json")
PRECISIONS = ("auto", "int8", "fp32")


def label_of(p_pos: np.ndarray, threshold: float, band: tuple[float, float] | None) -> list[str]:
    """negative / positive by threshold; neutral inside ``band`` = (lo, hi) when one is given."""
    labels = np.where(p_pos >= threshold, "positive", "negative").astype(object)
    if band is not None:
        lo, hi = band
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"neutral band must satisfy 0 <= lo <= hi <= 1, got {band}")
        labels[(p_pos > lo) & (p_pos < hi)] = "neutral"
    return labels.tolist()


class TorchBackend:
    name = "torch"

    def __init__(self, path: Path, device: str | None = None, threads: int | None = None):
        import torch
        from transformers import AutoModelForSequenceClassification

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        # use_safetensors: a pickle (pytorch_model.bin) is never loaded, whatever else the folder holds
        self.model = AutoModelForSequenceClassification.from_pretrained(
            path, dtype=torch.float32, use_safetensors=True
        )
        self.model.eval().to(self.device)

    def logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        t = self.torch
        with t.inference_mode():
            out = self.model(
                input_ids=t.from_numpy(ids).to(self.device), attention_mask=t.from_numpy(mask).to(self.device)
            ).logits
        return out.float().cpu().numpy()


class OnnxBackend:
    name = "onnx"

    def __init__(self, file: Path, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if os.environ.get("TINYSENT_ORT_SPIN", "1") == "0":
            # Idle ORT threads stop spinning: a service sharing its cores with an event loop needs them.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One intra-op thread per physical core is ORT's sweet spot for small matmuls.
        opts.intra_op_num_threads = threads or max(1, (os.cpu_count() or 2))
        opts.inter_op_num_threads = 1
        self.file = file
        self.session = ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask}
        return self.session.run(["logits"], {k: v for k, v in feed.items() if k in self.inputs})[0]


def model_files(path: Path, backend: str = "auto", precision: str = "auto") -> tuple[ModelMeta, Path]:
    """(metadata, the weight file ``backend`` / ``precision`` pick) of a model folder, checked: the
    metadata is valid, tokenizer files exist, the weights are listed in tinysent.json and match their
    sha256, and a pickle is never picked. What :meth:`Predictor.from_dir` loads, without loading it."""
    from .data import file_sha256
    from .models import ModelError

    meta = ModelMeta.load(path, required=True)
    if not any((path / f).exists() for f in TOKENIZER_FILES):
        raise ModelError(
            f"{path} has no tokenizer files ({', '.join(TOKENIZER_FILES)}): every word would be "
            "[UNK]; copy them from the model's source folder"
        )

    def belongs(name: str) -> bool:  # listed in tinysent.json (folders from before the list: present)
        return (path / name).exists() and (meta.files is None or name in meta.files)

    kinds = list(ONNX_FILES) if precision == "auto" else [precision]
    onnx = next((path / ONNX_FILES[k] for k in kinds if belongs(ONNX_FILES[k])), None)
    if onnx is None and (backend == "onnx" or precision != "auto"):
        what = (
            "an ONNX model" if precision == "auto" else f"an ONNX {precision} model ({ONNX_FILES[precision]})"
        )
        raise FileNotFoundError(
            f"{path} has no {what}; make one with `tinysent export --model {path} --out DIR"
            + (" --int8`" if precision == "int8" else "`")
        )
    use_torch = backend == "torch" or (backend == "auto" and onnx is None)
    weights = path / "model.safetensors" if use_torch else onnx
    if use_torch and not belongs("model.safetensors"):
        pickles = [f.name for f in path.glob("*.bin")] + [f.name for f in path.glob("*.pt*")]
        raise ModelError(
            f"{path} has no model.safetensors"
            + (" listed in its tinysent.json" if (path / "model.safetensors").exists() else "")
            + (
                f" (only {', '.join(sorted(pickles))}: a pickle, which tinysent never loads; "
                "convert it to safetensors where it came from)"
                if pickles
                else "; pass the folder tinysent train / distill wrote, or an export with --backend onnx"
            )
        )
    if meta.files is not None and file_sha256(weights) != meta.files[weights.name]:
        raise ModelError(
            f"{weights} does not match the sha256 in its tinysent.json: the file is damaged, "
            "truncated or not this model's; copy it again or rerun the step that wrote it"
        )
    return meta, weights


class Predictor:
    """A loaded model folder: tokenizer, backend, normaliser config, threshold and temperature."""

    def __init__(self, backend, tokenizer, meta: ModelMeta, path: Path | None = None, max_tokens=None):
        """``max_tokens``: at most this many padded tokens per model call (None: no cap)."""
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1 or None for no cap (got {max_tokens})")
        self.max_tokens = max_tokens
        self.backend = backend
        self.tokenizer = tokenizer
        self.meta = meta
        self.path = path
        self.normalizer = Normalizer(meta.normalizer_config)
        self._pos = meta.labels.index("positive")

    @property
    def model(self):
        """The PyTorch model (torch backend only)."""
        return self.backend.model

    @classmethod
    def from_dir(
        cls,
        path: str | os.PathLike,
        backend: str = "auto",
        device: str | None = None,
        threads: int | None = None,
        max_tokens: int | None = None,
        precision: str = "auto",
    ) -> Predictor:
        """``backend``: auto (ONNX when the folder has an export, else PyTorch), torch or onnx;
        ``precision`` (ONNX): auto (int8 when present), int8 or fp32."""
        from transformers import AutoTokenizer

        from .models import ModelError

        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ModelError(f"{path} is a file; pass the model folder that holds it")
        if not (path / "config.json").exists():
            raise FileNotFoundError(
                f"{path} is not a model folder (no config.json); train one with `tinysent train`"
            )
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
        if backend == "torch" and precision != "auto":
            raise ValueError(
                f"precision {precision!r} picks an ONNX file: use it with --backend onnx or auto"
            )
        meta, weights = model_files(path, backend, precision)
        use_torch = weights.suffix != ".onnx"
        try:
            be = TorchBackend(path, device, threads) if use_torch else OnnxBackend(weights, threads)
        except Exception as e:  # ONNX Runtime's errors are its own classes
            raise ModelError(
                f"cannot load {weights}: {str(e).splitlines()[0][:300]} (damaged or truncated?)"
            ) from None
        return cls(be, AutoTokenizer.from_pretrained(path), meta, path, max_tokens)

    def _check(self, texts) -> list[str]:
        """The texts as a list, once (any iterable: a generator is read, not consumed by a check),
        each a str that is valid Unicode; the error names the text and the character."""
        from collections.abc import Iterable, Mapping

        if isinstance(texts, (bytes, bytearray, Mapping)) or not isinstance(texts, Iterable):
            raise TypeError(
                f"texts must be a str or an iterable of str, not {type(texts).__name__}"
                + (": decode it first" if isinstance(texts, (bytes, bytearray)) else "")
            )
        items = list(texts)
        for i, t in enumerate(items):
            if not isinstance(t, str):
                raise TypeError(f"text {i} is a {type(t).__name__}, not a str: convert it (or drop it) first")
            try:
                t.encode("utf-8")
            except UnicodeEncodeError as e:
                raise ValueError(
                    f"text {i} is not valid Unicode: character {e.start} is {t[e.start]!r}, an unpaired "
                    "surrogate (from undecodable bytes?); fix or drop it"
                ) from None
        return items

    def token_ids(self, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
        """Normalised, tokenised, truncated to the model's max length (keeping ``[SEP]``); and truncated?"""
        full = encode(self.normalizer.many(texts), self.tokenizer, None)
        n_max = self.meta.max_length
        truncated = np.array([len(x) > n_max for x in full], dtype=bool)
        return [x if len(x) <= n_max else x[: n_max - 1] + x[-1:] for x in full], truncated

    def logits(self, ids: list[list[int]], batch_size: int = 256) -> np.ndarray:
        """Raw logits, in input order. Calls go in order of length (padding stays small), each with at
        most ``batch_size`` texts and, when ``self.max_tokens`` is set, that many padded tokens (always
        at least one text).

        Why the token cap: a call of 256 long tweets holds tens of MB of FFN activations and runs out of
        cache; a 2,048-token cap made ONNX int8 +6 % faster on 2 cores (benchmarks/token_cap.py, paired).
        It is off by default because int8 scales activations per call, so smaller calls change int8
        results: with it, the shipped model's int8 export agreed with fp32 on 99.425 % of validation
        labels instead of 99.55 % (scripts/int8_validation.py), under the 99.5 % asked of an export."""
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        cap = self.max_tokens or np.iinfo(np.int64).max
        out = np.empty((len(ids), len(self.meta.labels)), dtype=np.float32)
        s = 0
        while s < len(ids):
            e = s + 1  # sorted: the newest text is the longest, so (count) x (its length) is the padding
            while e < len(ids) and e - s < batch_size and (e - s + 1) * lengths[order[e]] <= cap:
                e += 1
            idx = order[s:e]
            width = int(lengths[idx[-1]])
            x = np.zeros((len(idx), width), dtype=np.int64)
            m = np.zeros_like(x)
            for r, i in enumerate(idx):
                x[r, : lengths[i]] = ids[i]
                m[r, : lengths[i]] = 1
            out[idx] = self.backend.logits(x, m)
            s = e
        return out

    @property
    def three_class(self) -> bool:
        return len(self.meta.labels) == 3

    def proba(self, texts: list[str], batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities [n, len(labels)] with the model's temperature, truncated?) per text."""
        ids, truncated = self.token_ids(texts)
        return softmax(self.logits(ids, batch_size), self.meta.temperature), truncated

    def positive_proba(self, texts: list[str], batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive), truncated?) per text; for a 3-class model the binary answer:
        P(pos) / (P(pos) + P(neg)), what Sentiment140-style binary questions are scored by."""
        p, truncated = self.proba(texts, batch_size)
        if self.three_class:
            neg = self.meta.labels.index("negative")
            return binary_share(p, neg, self._pos), truncated
        return p[:, self._pos], truncated

    def predict(
        self,
        texts,
        batch_size: int = 256,
        neutral_band: tuple[float, float] | None = None,
        binary: bool = False,
    ):
        """One record (dict) per text, or one record for one string, plus ``truncated`` / ``empty``
        flags when they apply. A binary model: ``{"label", "positive", "negative"}`` (``neutral`` inside
        ``neutral_band``). A 3-class model: ``{"label", "negative", "neutral", "positive"}``, the label
        the most probable class; with ``binary=True`` it answers negative / positive by P(pos) vs
        P(neg) and gives those two, renormalised."""
        single = isinstance(texts, str)
        items = self._check([texts] if single else texts)
        if not items:
            return []
        if self.three_class and neutral_band is not None:
            raise ValueError(
                "a 3-class model labels neutral itself: drop the neutral band (or ask for its binary answer: "
                "--binary, binary=True)"
            )
        records = []
        if self.three_class and not binary:
            p, truncated = self.proba(items, batch_size)
            names = self.meta.labels
            for t, row, tr in zip(items, p.tolist(), truncated.tolist()):
                r = {"label": names[int(np.argmax(row))], **{n: round(v, 6) for n, v in zip(names, row)}}
                records.append(self._flags(r, t, tr))
            return records[0] if single else records
        band = (
            neutral_band
            if neutral_band is not None
            else (None if self.three_class else self.meta.neutral_band)
        )
        p, truncated = self.positive_proba(items, batch_size)
        threshold = 0.5 if self.three_class else self.meta.threshold
        labels = label_of(p, threshold, tuple(band) if band is not None else None)
        for t, lab, pp, tr in zip(items, labels, p.tolist(), truncated.tolist()):
            records.append(
                self._flags({"label": lab, "positive": round(pp, 6), "negative": round(1 - pp, 6)}, t, tr)
            )
        return records[0] if single else records

    @staticmethod
    def _flags(record: dict, text: str, truncated: bool) -> dict:
        if truncated:
            record["truncated"] = True
        if not text.strip():
            record["empty"] = True
        return record

    def describe(self) -> dict:
        return {
            "path": str(self.path),
            "backend": self.backend.name,
            "normalizer_version": self.meta.normalizer_config.version,
            "labels": self.meta.labels,
            "max_length": self.meta.max_length,
        }


def model_folder(
    path: str | os.PathLike | None = None,
    backend: str = "auto",
    device: str | None = None,
    precision: str = "auto",
) -> Path:
    """The folder :func:`load` reads: ``path``, or with none the model shipped in the package (on a
    CPU, as its int8 export: the default path is the fast one, built on first use into the user
    cache, parity-checked and hash-pinned, and reused after that)."""
    if path is not None:
        return Path(path)
    if not (SHIPPED_DIR / "config.json").exists():
        raise FileNotFoundError(
            f"no shipped model at {SHIPPED_DIR}: this install lacks it; "
            "pass a model folder (tinysent train --out DIR)"
        )
    if backend in ("auto", "onnx") and precision in ("auto", "int8") and device in (None, "cpu"):
        from .export import cached_export

        return cached_export(SHIPPED_DIR)
    return SHIPPED_DIR


def load(
    path: str | os.PathLike | None = None,
    backend: str = "auto",
    device: str | None = None,
    threads: int | None = None,
    max_tokens: int | None = None,
    precision: str = "auto",
) -> Predictor:
    """A model folder as a :class:`Predictor`; with no path, the model shipped in the package.
    ``threads``: CPU threads for the model (default: one per core); ``max_tokens``: padded tokens
    per model call (see :class:`Predictor`); ``precision``: which ONNX file (auto, int8, fp32)."""
    path = model_folder(path, backend, device, precision)
    return Predictor.from_dir(path, backend, device, threads, max_tokens, precision)
