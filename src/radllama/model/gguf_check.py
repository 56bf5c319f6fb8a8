"""A GGUF header walk that trusts no count: every length is checked against the file size.

The `gguf` package's reader allocates what the header declares (a key-value array of 2^40
UINT32 is a 4 TiB request built element by element) before it notices the file is 166 bytes
long. `check_gguf_header` reads the same header with `struct`, seeking over values instead of
building them, and refuses the file as soon as a declared string, array or tensor would reach
past its end, so the reader only ever sees headers that fit the bytes on disk. Memory stays
constant and time is linear in the file's size (each array element needs at least one byte).

Layout (GGUF v2/v3, little-endian; https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
magic ``GGUF``, uint32 version, uint64 tensor count, uint64 key-value count; each key-value
is a string key, a uint32 type and a value; a string is a uint64 length + bytes; an array is
a uint32 item type, a uint64 count and the items; each tensor info is a string name, uint32
n_dims, n_dims uint64 dims, uint32 ggml type and a uint64 offset into the data section, which
starts at the next multiple of ``general.alignment`` (default 32) after the header.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from radllama.core.errors import ConfigError

# Fixed-size value types: GGUF type id -> bytes.
SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_ARRAY_DEPTH = 2  # GGUF nests arrays of arrays at most this deep in practice
DEFAULT_ALIGNMENT = 32


class GgufError(ConfigError):
    """A GGUF file that cannot be used (not GGUF, truncated, unsupported architecture)."""


class _Header:
    def __init__(self, handle: BinaryIO, size: int, path: Path) -> None:
        self.handle, self.size, self.path = handle, size, path

    def fail(self, what: str) -> GgufError:
        return GgufError(
            f"{self.path} is truncated or damaged ({what}, at byte {self.handle.tell()} of "
            f"{self.size}); download or export the file again"
        )

    def remaining(self) -> int:
        return self.size - self.handle.tell()

    def read(self, fmt: str) -> int:
        width = struct.calcsize(fmt)
        data = self.handle.read(width)
        if len(data) != width:
            raise self.fail("header ends early")
        return struct.unpack(fmt, data)[0]

    def skip(self, n_bytes: int, what: str) -> None:
        if n_bytes > self.remaining():
            raise self.fail(f"{what} of {n_bytes} bytes is longer than the file")
        self.handle.seek(n_bytes, 1)

    def string(self, what: str) -> bytes:
        length = self.read("<Q")
        if length > self.remaining():
            raise self.fail(f"{what} declares {length} bytes, longer than the file")
        return self.handle.read(length)

    def value(self, kind: int, what: str, depth: int = 0):
        """Read a scalar (returned) or skip a string/array (returns None), bounds-checked."""
        if kind in SCALAR_SIZES:
            fmt = {1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?"}.get(kind)
            fmt = fmt or {0: "<B", 10: "<Q", 11: "<q", 12: "<d"}[kind]
            return self.read(fmt)
        if kind == STRING:
            self.string(what)
            return None
        if kind != ARRAY or depth >= MAX_ARRAY_DEPTH:
            raise self.fail(f"{what} has unknown value type {kind}")
        item_kind, count = self.read("<I"), self.read("<Q")
        smallest = SCALAR_SIZES.get(item_kind, 8 if item_kind == STRING else 12)
        if count * smallest > self.remaining():
            raise self.fail(f"{what} declares an array of {count} items, longer than the file")
        if item_kind in SCALAR_SIZES:
            self.skip(count * smallest, what)
        else:
            for _ in range(count):  # count <= file size / 8: linear in the file
                self.value(item_kind, what, depth + 1)
        return None


def check_gguf_header(path: str | Path) -> dict[str, int]:
    """Walk a GGUF header; GgufError unless every count and length fits inside the file.

    Returns {"version", "tensors", "fields", "data_start"}. Constant memory: values are
    skipped, not built."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = _Header(handle, size, path)
        if handle.read(4) != b"GGUF":
            raise GgufError(f"{path} is not a GGUF file (no GGUF magic bytes); pass a .gguf file")
        version = header.read("<I")
        if version not in (2, 3):
            raise GgufError(
                f"{path} is GGUF version {version}; only versions 2 and 3 are supported: "
                "re-export it with a current llama.cpp"
            )
        n_tensors, n_fields = header.read("<Q"), header.read("<Q")
        # A key-value needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info
        # 8 + 4 + 4 + 8 bytes.
        if n_fields * 13 + n_tensors * 24 > header.remaining():
            raise header.fail(
                f"header declares {n_fields} key-values and {n_tensors} tensors, more than fit"
            )
        alignment = DEFAULT_ALIGNMENT
        for _ in range(n_fields):
            key = header.string("a key")
            kind = header.read("<I")
            value = header.value(kind, f"key {key[:64].decode('utf-8', 'replace')!r}")
            if key == b"general.alignment" and isinstance(value, int):
                alignment = value
        if alignment <= 0 or alignment & (alignment - 1):
            raise header.fail(f"general.alignment {alignment} is not a power of two")
        tensors = []
        for _ in range(n_tensors):
            name = header.string("a tensor name")
            n_dims = header.read("<I")
            if n_dims > MAX_DIMS:
                raise header.fail(f"a tensor declares {n_dims} dimensions")
            dims = [header.read("<Q") for _ in range(n_dims)]
            tensors.append((name, dims, header.read("<I"), header.read("<Q")))
        data_start = -(-handle.tell() // alignment) * alignment
        _check_tensor_data(header, tensors, data_start)
    return {"version": version, "tensors": n_tensors, "fields": n_fields, "data_start": data_start}


def _check_tensor_data(header: _Header, tensors, data_start: int) -> None:
    """Each tensor's bytes (elements / block size * block bytes) lie inside the file."""
    import gguf

    for name, dims, ggml_type, offset in tensors:
        try:
            block, block_bytes = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ggml_type)]
        except (ValueError, KeyError):
            raise header.fail(f"a tensor has unknown type {ggml_type}") from None
        elements = 1
        for dim in dims:
            elements *= dim
        n_bytes = -(-elements // block) * block_bytes
        if data_start + offset + n_bytes > header.size:
            raise header.fail(
                f"tensor {name[:64].decode('utf-8', 'replace')!r} needs bytes "
                f"{data_start + offset}..{data_start + offset + n_bytes}, past the end"
            )
