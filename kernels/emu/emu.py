"""Python side of the CPU kernel emulator (include/cuemu.h): numpy arrays as device memory, launches
with cuLaunchKernel-style parameter lists, bf16 conversions, and the relative-error check."""
import ctypes
import os
import struct
import subprocess

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
_lib = None


def load(out="/tmp/panomni-emu", files=()):
    """Builds (kernels/emu/build.sh) and loads the emulator library."""
    global _lib
    subprocess.run([os.path.join(HERE, "build.sh"), out, *files], check=True, stdout=subprocess.DEVNULL)
    _lib = ctypes.CDLL(os.path.join(out, "libpanomni_emu.so"))
    _lib.emu_launch.restype = ctypes.c_int
    return _lib


class Arg:
    def __init__(self, raw):
        self.buf = ctypes.create_string_buffer(raw, max(len(raw), 1))


def ptr(a):
    """A pointer parameter: a numpy array's data (None: null)."""
    return Arg(struct.pack("<q", 0 if a is None else a.ctypes.data))


def i32(v):
    return Arg(struct.pack("<i", int(v)))


def i64(v):
    return Arg(struct.pack("<q", int(v)))


def f32(v):
    return Arg(struct.pack("<f", float(v)))


def f64(v):
    return Arg(struct.pack("<d", float(v)))



def strided(shape, strides):
    r = len(shape)
    shape = list(shape) + [0] * (8 - r)
    strides = list(strides) + [0] * (8 - r)
    return Arg(struct.pack("<ii8q8q", r, 0, *shape, *strides))


def launch(name, grid, block, smem, *args):
    grid = tuple(grid) + (1,) * (3 - len(grid)) if isinstance(grid, tuple) else (grid, 1, 1)
    block = tuple(block) + (1,) * (3 - len(block)) if isinstance(block, tuple) else (block, 1, 1)
    arr = (ctypes.c_void_p * max(len(args), 1))(*[ctypes.cast(a.buf, ctypes.c_void_p) for a in args])
    rc = _lib.emu_launch(name.encode(), *grid, *block, ctypes.c_ulonglong(smem), arr)
    if rc != 0:
        raise RuntimeError("launch failed: " + name)


# ---------------------------------------------------------------- dtypes

def to_bf16(x):
    """float32 array -> uint16 bf16 bits, round to nearest even."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return r


def from_bf16(b):
    return (np.asarray(b, np.uint16).astype(np.uint32) << 16).view(np.float32)


DTYPES = ("f32", "bf16", "f16")


def store(x, dt):
    """float array -> device array of dtype dt."""
    x = np.ascontiguousarray(x, np.float32)
    if dt == "f32":
        return x.copy()
    if dt == "bf16":
        return to_bf16(x)
    return x.astype(np.float16)


def value(a, dt):
    """device array of dtype dt -> float64 values."""
    if dt == "f32":
        return a.astype(np.float64)
    if dt == "bf16":
        return from_bf16(a).astype(np.float64)
    return a.astype(np.float64)


def poison(shape, dt):
    if dt == "f32":
        return np.full(shape, np.nan, np.float32)
    if dt == "bf16":
        return np.full(shape, 0x7FC0, np.uint16)
    return np.full(shape, np.nan, np.float16)


def vec_width(dt):
    return 4 if dt == "f32" else 8


def tol(dt):
    return 1e-5 if dt == "f32" else 1e-2


def rel(out, ref):
    out = np.asarray(out, np.float64)
    ref = np.asarray(ref, np.float64)
    if np.isnan(out).any() or out.shape != ref.shape:
        return float("inf")
    den = np.linalg.norm(ref)
    num = np.linalg.norm(out - ref)
    return num / den if den > 0 else (0.0 if num == 0 else float("inf"))


FAILS = []


def check(out, ref, t, what):
    e = rel(out, ref)
    ok = e <= t
    if not ok:
        FAILS.append(what)
    print(("ok   " if ok else "FAIL ") + f"{what}: rel err {e:.2e} (tol {t:.0e})", flush=True)
    return ok


def pow2_at_least(v):
    p = 1
    while p < v:
        p <<= 1
    return p
