"""Writes the .npy fixtures under tests/data/npy/ with NumPy.

Run from the repository root:  .venv/bin/python tests/data/make_npy_fixtures.py

Re-running rewrites every file with the same bytes. Element `i` (the C-order flat index of the
logical array, whatever the file's memory order) is given by `values(dtype, n)` below; the Rust
tests in crates/tilework-io/src/npy/tests/ recompute the same formula and compare bit for bit.
"""

import pathlib
import struct
import zipfile

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "npy"

# Every dtype tilework reads, by the short name used in file names.
DTYPES = ["b1", "u1", "i4", "i8", "u4", "f2", "f4", "f8"]


def values(code, n):
    """The fixture formula; keep in step with `expected_values` in the Rust tests."""
    i = np.arange(n, dtype=np.int64)
    base = i * 7 % 23 - 11  # integers in [-11, 11]
    if code == "b1":
        return (i * 7 % 23) % 3 == 0
    if code == "u1":
        return (i * 37 % 256).astype(np.uint8)
    if code == "i4":
        return (base * 1000003 - i).astype(np.int32)
    if code == "i8":
        return base * 10**12 + i
    if code == "u4":
        return (i * 2654435761 % 2**32).astype(np.uint32)
    # Floats: thirds are inexact in every float type, so the casts below really round.
    x = base * 0.25 + (i % 5) / 3.0
    if code == "f8":
        return x
    if code == "f4":
        return x.astype(np.float32)
    if code == "f2":
        # Via float32 so Rust can reproduce it with half's (correctly rounded) f32 -> f16.
        return x.astype(np.float32).astype(np.float16)
    raise ValueError(code)


def array(code, shape, order="C", byteorder="<"):
    n = int(np.prod(shape))
    a = values(code, n).reshape(shape)
    if code not in ("b1", "u1"):
        a = a.astype(a.dtype.newbyteorder(byteorder))
    return a.copy(order=order)


def save(name, a):
    np.save(OUT / name, a, allow_pickle=False)


def zero_zip_timestamps(path):
    """np.savez stamps members with the current time; zero the DOS time and date fields in the
    local and central headers (no checksum covers them) so re-runs write the same bytes."""
    data = bytearray(path.read_bytes())
    eocd = data.rindex(b"PK\x05\x06")
    (count,) = struct.unpack_from("<H", data, eocd + 10)
    (central,) = struct.unpack_from("<I", data, eocd + 16)
    for _ in range(count):
        assert data[central : central + 4] == b"PK\x01\x02"
        data[central + 12 : central + 16] = b"\x00\x00\x21\x00"  # 1980-01-01 00:00
        (local,) = struct.unpack_from("<I", data, central + 42)
        assert data[local : local + 4] == b"PK\x03\x04"
        data[local + 10 : local + 14] = b"\x00\x00\x21\x00"
        name, extra, comment = struct.unpack_from("<HHH", data, central + 28)
        central += 46 + name + extra + comment
    path.write_bytes(bytes(data))


def save_npz(name, compressed):
    members = {
        "grid": array("f8", (6, 4)),
        "flags": array("b1", (7,)),
        "cube_f": array("i4", (3, 4, 2), order="F"),
        "scalar": array("f4", ()),
        "empty": array("u1", (0, 3)),
    }
    path = OUT / name
    (np.savez_compressed if compressed else np.savez)(path, **members)
    zero_zip_timestamps(path)


def main():
    OUT.mkdir(exist_ok=True)
    for old in [*OUT.glob("*.npy"), *OUT.glob("*.npz")]:
        old.unlink()

    for code in DTYPES:
        save(f"{code}_c.npy", array(code, (13, 17)))
        save(f"{code}_f.npy", array(code, (13, 17), order="F"))
    for code in ["i4", "i8", "u4", "f2", "f4", "f8"]:
        save(f"{code}_be.npy", array(code, (9, 11), byteorder=">"))
    save("f8_be_f.npy", array("f8", (9, 11), order="F", byteorder=">"))
    save("f4_3d_c.npy", array("f4", (5, 7, 3)))
    save("i4_3d_f.npy", array("i4", (5, 7, 3), order="F"))
    save("u1_4d_f.npy", array("u1", (3, 4, 5, 2), order="F"))
    save("i8_1d.npy", array("i8", (5,)))
    save("f8_0d.npy", array("f8", ()))
    save("f4_empty.npy", array("f4", (0, 5)))
    save("b1_empty.npy", array("b1", (3, 0, 2)))
    # f16 ties: 1 + k/2048 is halfway between two f16 values for odd k (round half to even).
    ties = (1 + np.arange(16, dtype=np.float32) / 2048).astype(np.float16)
    save("f2_ties.npy", ties)
    with open(OUT / "f4_v2.npy", "wb") as f:
        np.lib.format.write_array(f, array("f4", (6, 4)), version=(2, 0))
    with open(OUT / "i4_v3_f.npy", "wb") as f:
        np.lib.format.write_array(f, array("i4", (6, 4), order="F"), version=(3, 0))

    # Files tilework must reject, each with a clear error.
    good = (OUT / "f8_c.npy").read_bytes()
    (OUT / "bad_magic.npy").write_bytes(b"\x93NUMPX" + good[6:])
    (OUT / "bad_truncated_data.npy").write_bytes(good[:-13])
    (OUT / "bad_truncated_header.npy").write_bytes(good[:40])
    save("bad_c8.npy", np.arange(4, dtype=np.complex64))
    save("bad_structured.npy", np.zeros(3, dtype=[("a", "<i4")]))
    save("bad_i2.npy", np.arange(4, dtype=np.int16))
    save("bad_u3.npy", np.array(["a", "bc", "def"], dtype="<U3"))
    np.save(OUT / "bad_object.npy", np.array([1, "x"], dtype=object), allow_pickle=True)

    save_npz("arrays.npz", compressed=False)
    save_npz("arrays_compressed.npz", compressed=True)
    # An archive np.load would open but whose second member is not an array.
    with zipfile.ZipFile(OUT / "bad_member.npz", "w") as archive:
        archive.writestr(zipfile.ZipInfo("x.npy"), (OUT / "i8_1d.npy").read_bytes())
        archive.writestr(zipfile.ZipInfo("notes.txt"), b"not an array\n")


if __name__ == "__main__":
    main()
