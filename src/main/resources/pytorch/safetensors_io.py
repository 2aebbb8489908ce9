"""Reads and writes safetensors files without the `safetensors` package (Debian's PyTorch may lack it).

The format: 8 bytes, the header's length as a little-endian unsigned integer; the header, JSON mapping each
tensor's name to {"dtype", "shape", "data_offsets": [begin, end]} (byte offsets after the header), plus an
optional "__metadata__" object of strings; then the tensors' raw little-endian bytes.
"""
import json
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}


def read(path):
    """(tensors, metadata): the tensors by name in file order, as CPU tensors, and the metadata strings."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: too short to be a safetensors file" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("%s: header length %d does not fit a file of %d bytes" % (path, n, len(data)))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, info["dtype"]))
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        if sys.byteorder != "little" and t.element_size() > 1:
            t = torch.from_numpy(t.numpy().byteswap())
        tensors[name] = t.reshape(info["shape"])
    return tensors, metadata


def load(path):
    """The tensors of a file, e.g. a state_dict for model.load_state_dict(load(path), strict=True)."""
    return read(path)[0]


def write(path, tensors, metadata=None):
    """Writes tensors (a dict, in its order) and string metadata, atomically: a temporary file renamed into place."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    for name, t in tensors.items():
        t = t.detach().to("cpu").contiguous()
        if sys.byteorder != "little" and t.element_size() > 1:
            raw = t.numpy().byteswap().tobytes()
        else:
            raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # tensor data starts 8-byte aligned
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
