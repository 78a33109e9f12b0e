"""Writes the Zarr fixtures under tests/data/zarr/ with zarr-python, for tilework-io's tests.

Run from the repository root:  .venv/bin/python tests/data/make_zarr_fixtures.py
Re-runnable and deterministic: every fixture is deleted and rewritten, with values from a formula
that crates/tilework-io/src/zarr/tests/fixtures.rs recomputes bit for bit:

    base(i)  = (i * 7 % 23) - 11                  (int64, i = flat C-order index)
    float(i) = base(i) * 0.25 + i / 7.0           (float64, then cast; i / 7 is not exact in f16)
    bool     : i % 3 == 0
    uint8    : base(i)             cast with wrap-around (astype)
    int32    : base(i) * 100_000 + i
    int64    : base(i) * 3_000_000_000 + i
    uint32   : base(i) * 1_000     cast with wrap-around (astype)
"""

import shutil
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ZstdCodec

ROOT = Path(__file__).resolve().parent / "zarr"


def values(shape, dtype):
    """The fixture formula, reshaped to `shape` and cast to `dtype`."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    base = i * 7 % 23 - 11
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        out = i % 3 == 0
    elif dtype == np.uint8:
        out = base.astype(np.uint8)
    elif dtype == np.int32:
        out = (base * 100_000 + i).astype(np.int32)
    elif dtype == np.int64:
        out = base * 3_000_000_000 + i
    elif dtype == np.uint32:
        out = (base * 1_000).astype(np.uint32)
    else:
        out = (base * 0.25 + i / 7.0).astype(dtype)
    return out.reshape(shape)


def zero_gzip_timestamps(array_dir):
    """numcodecs' gzip writes the current time into each chunk's header (bytes 4-7, MTIME); zero
    it so reruns give identical files. No checksum covers the header, so the chunks stay valid."""
    for chunk in (ROOT / array_dir).rglob("*"):
        if chunk.is_file() and chunk.name not in ("zarr.json", ".zarray", ".zattrs"):
            data = bytearray(chunk.read_bytes())
            assert data[:2] == b"\x1f\x8b", f"{chunk} is not gzip"
            data[4:8] = bytes(4)
            chunk.write_bytes(bytes(data))


def create(name, shape, chunks, dtype, zarr_format=3, **kwargs):
    path = ROOT / name
    if path.exists():
        shutil.rmtree(path)
    return zarr.create_array(
        store=str(path),
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        zarr_format=zarr_format,
        **kwargs,
    )


def write_whole(name, shape, chunks, dtype, **kwargs):
    array = create(name, shape, chunks, dtype, **kwargs)
    array[...] = values(shape, dtype)


def main():
    ROOT.mkdir(parents=True, exist_ok=True)

    # Every supported dtype, with ragged edge chunks (10 = 4+4+2, 7 = 3+3+1), zarr-python's
    # default codecs (bytes + zstd level 0).
    for dtype in ["bool", "uint8", "int32", "int64", "uint32", "float16", "float32", "float64"]:
        write_whole(f"dtype_{dtype}.zarr", (10, 7), (4, 3), dtype)

    # Every codec tilework writes, on float32 (blosc shuffle also on int64, typesize 8).
    codecs = {
        "none": [],
        "zstd": [ZstdCodec(level=5, checksum=True)],
        "blosc_lz4_shuffle": [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")],
        "blosc_zstd": [BloscCodec(cname="zstd", clevel=3, shuffle="noshuffle")],
        "gzip": [GzipCodec(level=5)],
    }
    for codec, compressors in codecs.items():
        write_whole(
            f"codec_{codec}.zarr",
            (10, 7),
            (4, 3),
            "float32",
            serializer=BytesCodec(endian="little"),
            compressors=compressors,
        )
    zero_gzip_timestamps("codec_gzip.zarr")
    write_whole(
        "codec_blosc_lz4_shuffle_int64.zarr",
        (10, 7),
        (4, 3),
        "int64",
        compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")],
    )

    # A non-zero fill value with some chunks never written: chunks (0, 0), (1, 1) and the corner
    # (2, 2) are stored, the other six are missing and read as the fill value.
    array = create("fill_partial.zarr", (10, 7), (4, 3), "float32", fill_value=-2.5)
    full = values((10, 7), "float32")
    for rows, cols in [(slice(0, 4), slice(0, 3)), (slice(4, 8), slice(3, 6)), (slice(8, 10), slice(6, 7))]:
        array[rows, cols] = full[rows, cols]

    # A 1-D array and a 3-D array.
    write_whole("one_d.zarr", (25,), (10,), "int64")
    write_whole(
        "three_d.zarr",
        (5, 6, 7),
        (2, 4, 3),
        "float64",
        compressors=[BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")],
    )

    # Chunk keys in the v2 style ("1.2") inside a v3 array.
    write_whole(
        "key_encoding_v2.zarr",
        (10, 7),
        (4, 3),
        "int32",
        chunk_key_encoding={"name": "v2", "separator": "."},
    )

    # A Zarr v2 array (.zarray, "1.2" keys, numcodecs zstd) and a v2 array with missing chunks.
    write_whole("v2_float32.zarr", (10, 7), (4, 3), "float32", zarr_format=2)
    array = create("v2_fill_partial.zarr", (10, 7), (4, 3), "int32", zarr_format=2, fill_value=7)
    array[0:4, 0:3] = values((10, 7), "int32")[0:4, 0:3]

    # A dtype tilework refuses (metadata only).
    create("unsupported_complex64.zarr", (4,), (2,), "complex64")


if __name__ == "__main__":
    main()
