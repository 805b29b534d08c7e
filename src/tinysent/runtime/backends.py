"""Model backends behind one interface, ``logits(ids, mask) -> np.ndarray``: ONNX Runtime (the
default path; needs only onnxruntime) and PyTorch (any model folder; needs the ``train`` extra)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinysent.core.errors import require
from tinysent.core.folder import INT8_AVX2, ONNX_FILES

# int8 graphs: ONNX Runtime's fused SkipLayerNormalization ran slower than the Add + LayerNormalization
# it replaces (the shipped model: +10 % tweets/s with the fusion off, paired;
# benchmarks/ort_alternatives.py); fp32 graphs showed no difference either way.
INT8_DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


def is_int8(file: str | Path) -> bool:
    return Path(file).name in (ONNX_FILES["int8"], INT8_AVX2)


class OnnxBackend:
    name = "onnx"

    def __init__(self, file: Path, threads: int | None = None, disabled_optimizers=None, config=None):
        """``disabled_optimizers``: ONNX Runtime graph optimizers to skip (None: this file kind's
        default, above); ``config``: extra session config entries (benchmarks try settings here)."""
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
        opts.log_severity_level = 3  # ORT's warnings about unused initializers are noise to a user
        self.file = Path(file)
        if disabled_optimizers is None:
            disabled_optimizers = INT8_DISABLED_OPTIMIZERS if is_int8(file) else ()
        self.session = ort.InferenceSession(
            str(file), opts, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled_optimizers)
        )
        self.inputs = {i.name for i in self.session.get_inputs()}

    def logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask}
        return self.session.run(["logits"], {k: v for k, v in feed.items() if k in self.inputs})[0]


class TorchBackend:
    name = "torch"

    def __init__(self, path: Path, device: str | None = None, threads: int | None = None):
        torch = require("torch", "train")
        transformers = require("transformers", "train")
        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        # use_safetensors: a pickle (pytorch_model.bin) is never loaded, whatever else the folder holds.
        # Quietly: predicting shows no "Loading weights" bar (transformers' setting is put back after)
        bars = transformers.utils.logging
        shown = bars.is_progress_bar_enabled()
        bars.disable_progress_bar()
        try:
            self.model = transformers.AutoModelForSequenceClassification.from_pretrained(
                path, dtype=torch.float32, use_safetensors=True
            )
        finally:
            if shown:
                bars.enable_progress_bar()
        self.model.eval().to(self.device)

    def logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        t = self.torch
        with t.inference_mode():
            out = self.model(
                input_ids=t.from_numpy(ids).to(self.device), attention_mask=t.from_numpy(mask).to(self.device)
            ).logits
        return out.float().cpu().numpy()


class LazyBackend:
    """A backend built on its first call: the int8 recheck's fp32 session costs start-up time that a
    single confident tweet never needs."""

    name = "onnx"

    def __init__(self, make):
        self._make, self._backend = make, None

    @property
    def backend(self):
        if self._backend is None:
            self._backend = self._make()
        return self._backend

    @property
    def file(self):
        return self.backend.file

    def logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.backend.logits(ids, mask)
