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
# Padded tokens per model call when ``max_tokens="auto"``: for int8 ONNX only (fp32 results do not
# depend on the call, int8's per-call activation scales do; the fp32 recheck below absorbs that).
INT8_MAX_TOKENS = 4096
INT8_DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)  # see OnnxBackend
# Padded tokens per fp32 call of the int8 recheck: fp32 runs best in small calls (its activations
# and weights are 4x int8's): the shipped model's near-ties were rescored at 690 tweets/s in calls
# of 4,096 tokens, 930-950/s in calls of 512-768 (benchmarks/recheck_cost.py measures the effect).
RECHECK_MAX_TOKENS = 768


def decision_margin(logits: np.ndarray, decision, neg: int, pos: int) -> np.ndarray:
    """Per text, how far its logits are from another label, in logits. ``decision``: "argmax" (a
    3-class model's most probable class: the gap between the top two logits) or a tuple of bounds
    on l_pos - l_neg where the label changes (a P(positive) threshold t at temperature T is the bound
    T * logit(t); a neutral band adds two). Why: int8 moves a logit by little (shipped model: p99
    0.12), so only texts this close to a boundary can get another label than fp32 gives them."""
    if decision == "argmax":
        top2 = np.partition(logits, -2, axis=1)[:, -2:]
        return top2[:, 1] - top2[:, 0]
    gap = logits[:, pos] - logits[:, neg]
    if not decision:
        return np.full(len(gap), np.inf)
    return np.abs(gap[:, None] - np.asarray(decision, dtype=logits.dtype)[None, :]).min(axis=1)


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

    def __init__(self, file: Path, threads: int | None = None, disabled_optimizers=None, config=None):
        """``disabled_optimizers``: ONNX Runtime graph optimizers to skip (None: this file kind's
        default, below); ``config``: extra session config entries (benchmarks try settings here)."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if os.environ.get("TINYSENT_ORT_SPIN", "1") == "0":
            # Idle ORT threads stop spinning: a service sharing its cores with an event loop needs them.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        for k, v in (config or {}).items():
            opts.add_session_config_entry(k, v)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One intra-op thread per physical core is ORT's sweet spot for small matmuls.
        opts.intra_op_num_threads = threads or max(1, (os.cpu_count() or 2))
        opts.inter_op_num_threads = 1
        self.file = file
        if disabled_optimizers is None:
            # int8 graphs: ONNX Runtime's fused SkipLayerNormalization ran slower than the Add +
            # LayerNormalization it replaces (the shipped model: +10 % tweets/s with the fusion off,
            # paired; benchmarks/ort_alternatives.py); fp32 graphs showed no difference either way.
            disabled_optimizers = INT8_DISABLED_OPTIMIZERS if Path(file).name == ONNX_FILES["int8"] else ()
        self.session = ort.InferenceSession(
            str(file), opts, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled_optimizers)
        )
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


def recheck_files(
    path: Path, meta: ModelMeta, weights: Path, margin: float | None = None
) -> tuple[float, Path | None]:
    """(margin, fp32 file) of an int8 model's fp32 recheck: texts whose int8 logits lie within
    ``margin`` of another label (:func:`decision_margin`) are scored again by the fp32 ONNX file of the
    same export. ``margin``: None takes the export's own (tinysent.json, ``onnx.recheck``); 0 turns
    it off. Why: dynamic int8 changes the label of ~1 % of the shipped model's tweets, all near-ties;
    rechecking the ~3 % nearest to a boundary keeps int8's speed and fp32's labels
    (results/cpu-2026-11-26/int8-recheck). The fp32 file is checked like the int8 one."""
    if margin is not None and margin < 0:
        raise ValueError(f"recheck margin must be >= 0 (0: off), got {margin}")
    if weights.name != ONNX_FILES["int8"]:
        if margin:
            raise ValueError(
                f"a recheck margin applies to an int8 ONNX model; {weights.name} is not one "
                "(drop the margin, or pick the int8 file: --precision int8)"
            )
        return 0.0, None
    if margin is None:
        margin = float(((meta.config or {}).get("onnx") or {}).get("recheck", {}).get("margin", 0.0))
    if not margin:
        return 0.0, None
    _, fp32 = model_files(path, "onnx", "fp32")
    return margin, fp32


class Predictor:
    """A loaded model folder: tokenizer, backend, normaliser config, threshold and temperature."""

    def __init__(
        self,
        backend,
        tokenizer,
        meta: ModelMeta,
        path: Path | None = None,
        max_tokens=None,
        recheck=None,
        recheck_margin: float = 0.0,
    ):
        """``max_tokens``: at most this many padded tokens per model call (None: no cap);
        ``recheck``: a backend (fp32) that scores again the texts whose logits lie within
        ``recheck_margin`` of another label (see :func:`recheck_files`)."""
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1 or None for no cap (got {max_tokens})")
        self.max_tokens = max_tokens
        self.backend = backend
        self.recheck = recheck
        self.recheck_margin = recheck_margin if recheck is not None else 0.0
        self.rechecked = 0  # texts the recheck has scored again, since loading
        self.recheck_max_tokens = RECHECK_MAX_TOKENS
        self.tokenizer = tokenizer
        self.meta = meta
        self.path = path
        self.normalizer = Normalizer(meta.normalizer_config)
        self._pos = meta.labels.index("positive")
        self._neg = meta.labels.index("negative")

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
        max_tokens: int | str | None = "auto",
        precision: str = "auto",
        recheck_margin: float | None = None,
    ) -> Predictor:
        """``backend``: auto (ONNX when the folder has an export, else PyTorch), torch or onnx;
        ``precision`` (ONNX): auto (int8 when present), int8 or fp32; ``max_tokens``: padded tokens
        per call, "auto" = :data:`INT8_MAX_TOKENS` for int8 ONNX, else no cap; ``recheck_margin``:
        see :func:`recheck_files` (None: the export's own, 0: pure int8)."""
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
        margin, fp32 = recheck_files(path, meta, weights, recheck_margin)
        use_torch = weights.suffix != ".onnx"
        if max_tokens == "auto":
            max_tokens = INT8_MAX_TOKENS if weights.name == ONNX_FILES["int8"] else None
        try:
            be = TorchBackend(path, device, threads) if use_torch else OnnxBackend(weights, threads)
            recheck = OnnxBackend(fp32, threads) if fp32 is not None else None
        except Exception as e:  # ONNX Runtime's errors are its own classes
            raise ModelError(
                f"cannot load {weights}: {str(e).splitlines()[0][:300]} (damaged or truncated?)"
            ) from None
        return cls(be, AutoTokenizer.from_pretrained(path), meta, path, max_tokens, recheck, margin)

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

    def logits(self, ids: list[list[int]], batch_size: int = 256, decision=None) -> np.ndarray:
        """Raw logits, in input order; with ``decision`` (see :func:`decision_margin`) and an fp32
        recheck, the texts within ``recheck_margin`` of another label get the recheck's logits.

        Calls go in order of length (padding stays small), each with at most ``batch_size`` texts and,
        when ``self.max_tokens`` is set, that many padded tokens (always at least one text). Why the
        token cap: a call of 256 long tweets holds tens of MB of FFN activations and runs out of cache;
        capped calls are faster (benchmarks/token_cap.py, paired). Int8 scales activations per call,
        so the cap changes int8 results a little; the recheck takes the affected near-ties to fp32."""
        out = self._calls(self.backend, ids, batch_size, self.max_tokens)
        if self.recheck is not None and decision is not None and len(ids):
            near = np.flatnonzero(decision_margin(out, decision, self._neg, self._pos) < self.recheck_margin)
            if len(near):
                cap = min(self.max_tokens or self.recheck_max_tokens, self.recheck_max_tokens)
                out[near] = self._calls(self.recheck, [ids[i] for i in near], batch_size, cap)
                self.rechecked += len(near)
        return out

    def _calls(self, backend, ids: list[list[int]], batch_size: int, cap: int | None) -> np.ndarray:
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        cap = cap or np.iinfo(np.int64).max
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
            out[idx] = backend.logits(x, m)
            s = e
        return out

    @property
    def three_class(self) -> bool:
        return len(self.meta.labels) == 3

    @property
    def threshold(self) -> float:
        """P(positive) threshold of the binary answer: the model's own; for a 3-class model 0.5 on
        P(pos) / (P(pos) + P(neg)), i.e. P(pos) vs P(neg)."""
        return 0.5 if self.three_class else float(self.meta.threshold)

    @property
    def band(self) -> tuple[float, float] | None:
        """The binary answer's default neutral band: a binary model's own (a 3-class model labels
        neutral itself)."""
        band = None if self.three_class else self.meta.neutral_band
        return tuple(band) if band is not None else None

    def bounds(self, threshold: float | None = None, band: tuple[float, float] | None = None) -> tuple:
        """The P(positive) decision as bounds on l_pos - l_neg (:func:`decision_margin`): the threshold
        (default: :attr:`threshold`) and the band's edges."""
        import math

        t = self.meta.temperature
        cuts = [self.threshold if threshold is None else threshold, *(band or ())]
        return tuple(t * math.log(c / (1 - c)) for c in cuts if 0 < c < 1)

    def proba(self, texts: list[str], batch_size: int = 256, decision=None) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities [n, len(labels)] with the model's temperature, truncated?) per text.
        ``decision`` (what the recheck protects): default "argmax" for a 3-class model, else the
        model's threshold and band."""
        if decision is None:
            decision = "argmax" if self.three_class else self.bounds(band=self.band)
        ids, truncated = self.token_ids(texts)
        return softmax(self.logits(ids, batch_size, decision), self.meta.temperature), truncated

    def positive_proba(
        self, texts: list[str], batch_size: int = 256, decision=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive), truncated?) per text; for a 3-class model the binary answer:
        P(pos) / (P(pos) + P(neg)), what Sentiment140-style binary questions are scored by.
        ``decision``: default the model's threshold (0.5 for a 3-class model) and band."""
        if decision is None:
            decision = self.bounds(band=self.band)
        p, truncated = self.proba(texts, batch_size, decision)
        if self.three_class:
            return binary_share(p, self._neg, self._pos), truncated
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
        band = tuple(neutral_band) if neutral_band is not None else self.band
        p, truncated = self.positive_proba(items, batch_size, self.bounds(band=band))
        labels = label_of(p, self.threshold, band)
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
            "recheck_margin": self.recheck_margin,
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
    max_tokens: int | str | None = "auto",
    precision: str = "auto",
    recheck_margin: float | None = None,
) -> Predictor:
    """A model folder as a :class:`Predictor`; with no path, the model shipped in the package.
    ``threads``: CPU threads for the model (default: one per core); ``max_tokens``: padded tokens
    per model call ("auto": a cap for int8 ONNX, none otherwise); ``precision``: which ONNX file
    (auto, int8, fp32); ``recheck_margin``: int8's fp32 recheck of near-ties (None: the export's
    own, 0: off; see :func:`recheck_files`)."""
    path = model_folder(path, backend, device, precision)
    return Predictor.from_dir(path, backend, device, threads, max_tokens, precision, recheck_margin)
