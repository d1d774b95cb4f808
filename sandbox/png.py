"""A tiny PNG encoder for the sandbox's generated pictures (no imaging library needed)."""

import hashlib
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def picture(seed: str, size: int = 96) -> bytes:
    """A two-colour square picture whose colours and pattern come from `seed`."""
    digest = hashlib.sha256(seed.encode()).digest()
    background, foreground = digest[0:3], digest[3:6]
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            cell = digest[6 + ((y * 5 // size) * 5 + (x * 5 // size)) % 26] & 1
            row += foreground if cell else background
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )
