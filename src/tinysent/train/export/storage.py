"""How an export's graphs are stored: every weight once, read from files beside them.

The weights a graph shares with the PyTorch model are read straight from ``model.safetensors`` (a
tensor's bytes at its offset in that file; a Linear's weight, which ONNX holds transposed, through a
``Transpose`` node), so the folder holds them once for both backends. What only ONNX has (int8
weights, their scales) goes once into ``model.weights``, which all the folder's graphs read. A float
weight stored in fp16 (a model packed in fp16) comes back as fp32 through a ``Cast`` node. ONNX
Runtime folds these nodes when a session starts: the graph computes with the same fp32 numbers as an
inline export (checked bitwise for the shipped model).

Why: stored inline, the shipped model's three graphs were 145 MB beside its 27 MB of PyTorch
weights; this way the package carries 38 MB in all, and an install that only predicts stays small.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tinysent.core.files import safetensors_header

DATA_FILE = "model.weights"
SAFETENSORS = "model.safetensors"
MIN_BYTES = 1024  # smaller tensors stay inside their graph
ALIGN = 64


def safetensors_index(path: Path) -> dict[bytes, tuple[int, int]]:
    """sha256 of each tensor's bytes -> (absolute offset, length) in a safetensors file."""
    header, start = safetensors_header(path)
    raw = path.read_bytes()
    index = {}
    for t in header.values():
        b, e = t["data_offsets"]
        index[hashlib.sha256(raw[start + b : start + e]).digest()] = (start + b, e - b)
    return index


def share_weights(folder: Path, names: list[str], data_name: str = DATA_FILE) -> dict:
    """Rewrite the graphs ``names`` in ``folder`` in place to read their large initializers from the
    folder's ``model.safetensors`` where it holds them, else from ``data_name`` (each distinct tensor
    once). Returns what went where, for the export's report."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    st = folder / SAFETENSORS
    index = safetensors_index(st) if st.exists() else {}
    where: dict[bytes, tuple[int, int]] = {}
    counts = {"from_safetensors": 0, "transposed": 0, "fp16": 0, "own": 0}
    tmp = folder / (data_name + ".tmp")

    def external(t, location: str, offset: int, length: int):
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
            entry = t.external_data.add()
            entry.key, entry.value = k, v
        return t

    with open(tmp, "wb") as data:
        for name in names:
            model = onnx.load(str(folder / name))
            graph = model.graph
            nodes, inits = [], []
            for init in graph.initializer:
                arr = numpy_helper.to_array(init)
                if arr.nbytes < MIN_BYTES:
                    inits.append(init)
                    continue
                stored, steps = arr, []  # steps: nodes that turn the stored tensor back into ``arr``
                candidates = [(arr, [])]
                half = arr.astype(np.float16) if arr.dtype == np.float32 else None
                if half is not None and np.array_equal(half.astype(np.float32), arr):  # exact in fp16
                    candidates.append((half, ["cast"]))
                hit = None
                for c, cast in candidates:
                    forms = [(c, [])] + ([(np.ascontiguousarray(c.T), ["transpose"])] if c.ndim == 2 else [])
                    for form, tr in forms:
                        key = hashlib.sha256(form.tobytes()).digest()
                        if key in index:
                            hit = (form, tr + cast, index[key])
                            break
                    if hit:
                        break
                if hit:
                    stored, steps, (offset, length) = hit
                    location = SAFETENSORS
                    counts["from_safetensors"] += 1
                    counts["transposed"] += "transpose" in steps
                else:
                    if len(candidates) > 1:
                        stored, steps = candidates[1]
                        counts["fp16"] += 1
                    counts["own"] += 1
                    raw = stored.tobytes()
                    key = hashlib.sha256(
                        bytes([stored.dtype.num]) + str(stored.shape).encode() + raw
                    ).digest()
                    if key not in where:
                        data.write(b"\0" * ((-data.tell()) % ALIGN))
                        where[key] = (data.tell(), len(raw))
                        data.write(raw)
                    (offset, length), location = where[key], data_name
                src = init.name + ("__stored" if steps else "")
                inits.append(external(numpy_helper.from_array(stored, src), location, offset, length))
                for i, step in enumerate(steps):  # stored -> transpose -> cast -> init.name
                    out = init.name if i == len(steps) - 1 else f"{init.name}__{step}"
                    if step == "transpose":
                        nodes.append(
                            helper.make_node("Transpose", [src], [out], perm=[1, 0], name=out + "_t")
                        )
                    else:
                        nodes.append(
                            helper.make_node("Cast", [src], [out], to=TensorProto.FLOAT, name=out + "_c")
                        )
                    src = out
            del graph.initializer[:]
            graph.initializer.extend(inits)
            rest = list(graph.node)
            del graph.node[:]
            graph.node.extend(nodes + rest)
            onnx.save(model, str(folder / name))
        size = data.tell()
    files = [SAFETENSORS] if counts["from_safetensors"] else []
    if size:
        tmp.replace(folder / data_name)
        files.append(data_name)
    else:
        tmp.unlink()
    return {"data": files, "own_mib": round(size / 2**20, 2), **counts}
