"""int8 dynamic quantization of an fp32 ONNX graph, for each CPU kind's int8 kernel."""

from __future__ import annotations

from pathlib import Path

from tinysent.core.folder import INT8_AVX2, ONNX_FILES, cpu_has_vnni

# kernel -> (file, reduce_range): CPUs with VNNI multiply u8 x s8 at full range; without it AVX2's
# u8 x s8 path saturates, which reduce_range (7-bit weights) avoids.
KERNELS = {"vnni": (ONNX_FILES["int8"], False), "avx2": (INT8_AVX2, True)}
SCHEME = "dynamic: uint8 activations per tensor, int8 weights per channel, MatMuls only"


def this_cpu() -> str:
    return "vnni" if cpu_has_vnni() else "avx2"


def quantize(fp32: Path, out_dir: Path, kernel: str) -> Path:
    """The int8 graph of ``fp32`` for ``kernel`` ("vnni" or "avx2"), written into ``out_dir``.

    Signed int8 weights, per channel: BERT's FFN output weights have outlier columns (one residual
    dimension with weights 30x the rest) that a single scale per matrix quantizes coarsely for every
    column; this was most of the int8 error and costs no speed. MatMuls only: the embedding tables
    stay in float."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    name, reduce_range = KERNELS[kernel]
    q = out_dir / (name if kernel == "vnni" else name)
    quantize_dynamic(
        str(fp32),
        str(q),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=reduce_range,
        op_types_to_quantize=["MatMul"],
    )
    return q
