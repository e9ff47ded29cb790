"""Grouped GEMM kernels (grouped_gemm.cu) on the CPU emulator against numpy, with uneven groups,
an empty group, a one-row group, partial tiles in every dimension and NaN-poisoned outputs."""
import sys
import numpy as np
import emu
from emu import ptr, i32, i64

BM = 128


def row_tiles_bound(rows, groups):
    return (rows + BM - 1) // BM + groups


def run(dt, counts, k, n, seed, variant="", threads=128):
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    rows = int(offsets[-1])
    g = len(counts)
    x = emu.store(rng.standard_normal((rows, k)), dt)
    w = emu.store(rng.standard_normal((g, n, k)) * 0.2, dt)
    dy = emu.store(rng.standard_normal((rows, n)), dt)
    xv, wv, dyv = emu.value(x, dt), emu.value(w, dt), emu.value(dy, dt)
    ref_out = np.zeros((rows, n))
    ref_dx = np.zeros((rows, k))
    ref_dw = np.zeros((g, n, k))
    for e in range(g):
        a, b = offsets[e], offsets[e + 1]
        ref_out[a:b] = xv[a:b] @ wv[e].T
        ref_dx[a:b] = dyv[a:b] @ wv[e]
        ref_dw[e] = dyv[a:b].T @ xv[a:b]
    grid_rows = row_tiles_bound(rows, g)
    out = emu.poison((rows, n), dt)
    emu.launch(f"grouped_gemm_fwd_{dt}{variant}", (grid_rows, (n + 127) // 128), threads, 0,
               ptr(x), ptr(w), ptr(offsets), i32(g), ptr(out), i64(k), i64(n))
    emu.check(emu.value(out, dt), ref_out, emu.tol(dt), f"fwd {dt}{variant} counts {counts} k {k} n {n}")
    dx = emu.poison((rows, k), dt)
    emu.launch(f"grouped_gemm_dx_{dt}{variant}", (grid_rows, (k + 127) // 128), threads, 0,
               ptr(dy), ptr(w), ptr(offsets), i32(g), ptr(dx), i64(n), i64(k))
    emu.check(emu.value(dx, dt), ref_dx, emu.tol(dt), f"dx {dt}{variant} counts {counts} k {k} n {n}")
    dw = emu.poison((g, n, k), dt)
    emu.launch(f"grouped_gemm_dw_{dt}{variant}", ((k + 127) // 128, (n + 127) // 128, g), threads, 0,
               ptr(dy), ptr(x), ptr(offsets), ptr(dw), i64(n), i64(k))
    emu.check(emu.value(dw, dt), ref_dw, emu.tol(dt), f"dw {dt}{variant} counts {counts} k {k} n {n}")
    for e in range(g):
        if counts[e] == 0 and np.any(emu.value(dw, dt)[e] != 0):
            emu.FAILS.append("empty group dw not zero")


emu.load(files=["grouped_gemm"])
dts = sys.argv[1:] or ["bf16", "f16"]
for dt in dts:
    run(dt, [37, 0, 1, 150, 12], 96, 136, 1)
    run(dt, [5, 200], 200, 64, 2)
print("FAILED: " + ", ".join(emu.FAILS) if emu.FAILS else "all passed")
sys.exit(1 if emu.FAILS else 0)
