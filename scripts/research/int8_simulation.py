"""Research tool (not the product path): compute in PyTorch what the int8 ONNX export computes.

``simulate_int8`` patches a model's Linears so they fake-quantize activations and weights as ONNX
Runtime's dynamic int8 does, to find where int8 loses a model's predictions without an export per
question. Used to choose the int8 scheme (per-channel weights, MatMuls only; results/README.md).
``tests/test_research.py`` checks that it matches the exported int8 graph.
"""

from __future__ import annotations

from tinysent.core.folder import cpu_has_vnni


def int8_weight_range(vnni: bool) -> int:
    """Largest int8 weight level the export uses: symmetric [-127, 127], or [-64, 64] with
    reduce_range (CPUs without VNNI, whose u8*s8 path saturates)."""
    return 127 if vnni else 64


def fake_int8_activation(x):
    """What ONNX Runtime's DynamicQuantizeLinear does to a MatMul input, in float: one uint8 scale and
    zero point for the whole tensor from its min and max (0 always representable), rounding half to
    even."""
    import torch

    with torch.no_grad():
        lo, hi = x.min().clamp(max=0), x.max().clamp(min=0)
        scale = ((hi - lo) / 255).clamp(min=torch.finfo(x.dtype).tiny)
        zp = torch.round(-lo / scale).clamp(0, 255)
        q = (torch.round(x / scale) + zp).clamp(0, 255)
        return (q - zp) * scale


def fake_int8_weight(w, levels: int = 127, per_channel: bool = True):
    """quantize_dynamic's int8 weights: symmetric, scale = max|w| / levels, per channel (one scale per
    output row of the Linear, a column of the ONNX MatMul) or for the whole matrix."""
    import torch

    with torch.no_grad():
        absmax = w.abs().amax(-1, keepdim=True) if per_channel else w.abs().max()
        scale = (absmax / levels).clamp(min=torch.finfo(w.dtype).tiny)
        return torch.round(w / scale).clamp(-levels, levels) * scale


class simulate_int8:  # noqa: N801 - used as a context manager, like torch.no_grad
    """Within the block every ``nn.Linear`` of ``model`` computes as the int8 ONNX export does
    (activations and weights fake-quantized as above; every Linear is an int8 MatMul there).
    Why: to find where int8 loses a model's predictions without an export per question
    (how per-channel weights were chosen). Nothing is added to the model's state dict."""

    def __init__(self, model, vnni=None, where=None, activations=True, weights=True, per_channel=True):
        """``where(name)``: only the Linears it accepts; ``activations`` / ``weights``: which side."""
        self.model = model
        self.levels = int8_weight_range(cpu_has_vnni() if vnni is None else vnni)
        self.where, self.activations, self.weights = where, activations, weights
        self.per_channel = per_channel
        self.patched = []

    def __enter__(self):
        import torch
        import torch.nn.functional as F

        act = fake_int8_activation if self.activations else (lambda x: x)
        levels, per_channel = (self.levels if self.weights else None), self.per_channel
        for name, m in self.model.named_modules():
            if not isinstance(m, torch.nn.Linear) or "forward" in m.__dict__:
                continue
            if self.where is None or self.where(name):

                def forward(x, m=m):
                    w = m.weight if levels is None else fake_int8_weight(m.weight, levels, per_channel)
                    return F.linear(act(x), w, m.bias)

                m.forward = forward
                self.patched.append(m)
        return self.model

    def __exit__(self, *exc):
        for m in self.patched:
            del m.forward
        self.patched = []
        return False
