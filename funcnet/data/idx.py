"""The IDX file format (the container of the MNIST files), parsed with NumPy.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim``
big-endian uint32 sizes, then the values in C order, big-endian. MNIST images have
magic 2051 (``0x00000803``: uint8, 3 dims) and labels 2049 (``0x00000801``: uint8,
1 dim). The parser checks every length against the header before it reads, so bad
input gives a ValueError that says what is wrong, never a crash, a huge allocation or
an array of garbage.
"""

from __future__ import annotations

import numpy as np

# IDX type code -> big-endian NumPy dtype of the stored values.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data, *, expected_magic: int | None = None, name: str = "IDX data") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into a native-endian array.

    Args:
        data: the whole file as ``bytes``/``bytearray``/``memoryview``.
        expected_magic: if given, the magic number the file must have (2051 for MNIST
            images, 2049 for MNIST labels).
        name: what to call the data in error messages (e.g. the file name).

    Returns:
        An array with the shape from the header, dtype from the type code (uint8,
        int8, int16, int32, float32 or float64; native byte order), owning its memory.

    Raises:
        TypeError: ``data`` is not bytes-like.
        ValueError: bad magic number, unknown type code, zero dimensions, a header or
            body shorter than the header says (truncated), or bytes left over.

    Examples:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        array([7, 8, 9], dtype=uint8)
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse_idx: {name} must be bytes, got {type(data).__name__}")
    data = memoryview(data).cast("B")
    size = len(data)
    if size < 4:
        raise ValueError(
            f"parse_idx: {name} is truncated: an IDX file starts with a 4-byte magic "
            f"number, got only {size} byte(s)"
        )
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"parse_idx: {name} has magic number {magic} (0x{magic:08x}), expected "
            f"{expected_magic} (0x{expected_magic:08x}); is it the right (decompressed) file?"
        )
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"parse_idx: {name} has bad magic number 0x{magic:08x}: the first two bytes "
            f"of an IDX file are zero; is it gzip-compressed or not an IDX file?"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in IDX_DTYPES)
        raise ValueError(f"parse_idx: {name} has unknown type code 0x{code:02x}; known: {known}")
    if ndim == 0:
        raise ValueError(f"parse_idx: {name} declares 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if size < header:
        raise ValueError(
            f"parse_idx: {name} is truncated: its header declares {ndim} dimension(s) "
            f"({header} header bytes), got {size} bytes in all"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_DTYPES[code]
    expected = dtype.itemsize * int(np.prod(shape, dtype=object))
    body = size - header
    if body < expected:
        raise ValueError(
            f"parse_idx: {name} is truncated: shape {shape} of {dtype.name} needs "
            f"{expected} data bytes, got {body}"
        )
    if body > expected:
        raise ValueError(
            f"parse_idx: {name} has {body - expected} unexpected trailing byte(s) after "
            f"shape {shape} of {dtype.name} ({expected} data bytes)"
        )
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))
