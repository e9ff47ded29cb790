"""Emulated runs of reduction.cu, indexing.cu, sort.cu, counting_sort.cu, grouped_rows.cu, topk.cu and selection.cu against numpy."""
import sys

import numpy as np

import emu
from emu import DTYPES, check, launch, poison, ptr, i32, i64, f64, store, strided, tol, value

rng = np.random.default_rng(1)
emu.load(files=["reduction", "indexing", "sort", "counting_sort", "grouped_rows", "topk", "selection"])
LLMAX = np.iinfo(np.int64).max


def fail(what):
    emu.FAILS.append(what)
    print("FAIL " + what, flush=True)


def ok(what):
    print("ok   " + what, flush=True)


def same(a, b, what):
    if np.array_equal(np.asarray(a), np.asarray(b)):
        ok(what)
    else:
        fail(what + f": {np.asarray(a).ravel()[:8]} vs {np.asarray(b).ravel()[:8]}")


# ---------------------------------------------------------------- counting sort (mirrors CountingSortLaunchers)
for rows, cols, lo, buckets, span in ((3000, 8, 0, 16, 16), (777, 3, 4, 5, 12), (64, 8, 0, 4, 1), (5000, 2, 30, 2, 64), (0, 8, 0, 3, 3)):
    keys = rng.integers(0, span, (rows, cols)).astype(np.int64) + (lo if span == 1 else 0)
    n = rows * cols
    counts = np.zeros(buckets, np.int64)
    flat = np.full(max(n, 1), -7, np.int64)
    row = np.full(max(n, 1), -7, np.int64)
    slot = np.full(max(n, 1), -9, np.int64)
    if n > 0:
        launch("counting_sort_count", (n + 8191) // 8192, 512, buckets * 4, ptr(keys), i64(n), i64(lo), i32(buckets), ptr(counts))
    launch("counting_sort_place", buckets, 512, 0, ptr(keys), i64(n), i64(cols), i64(lo), ptr(counts), ptr(flat), ptr(row), ptr(slot))
    kf = keys.ravel()
    ref = np.array([i for b in range(lo, lo + buckets) for i in range(n) if kf[i] == b], np.int64)
    m = len(ref)
    same(counts, [np.count_nonzero(kf == b) for b in range(lo, lo + buckets)], f"counting sort counts {rows}x{cols} [{lo}, +{buckets})")
    same(flat[:m], ref, f"counting sort order {rows}x{cols} [{lo}, +{buckets})")
    same(row[:m], ref // cols, f"counting sort rows {rows}x{cols}")
    same(flat[m:], np.full(len(flat) - m, -7), f"counting sort leaves the tail {rows}x{cols}")
    inv = np.full(n, m, np.int64)
    inv[ref] = np.arange(m)
    same(slot[:n], inv, f"counting sort slots {rows}x{cols}")

# ---------------------------------------------------------------- grouped rows (mirrors GroupedRowsLaunchers)
for m, groups, per, width in ((40, 9, 3, 64), (13, 5, 2, 12), (0, 4, 3, 8), (30, 30, 1, 9)):
    for dt in ("f32", "bf16"):
        t = store(rng.uniform(-1, 1, (max(m, 1), width)), dt)
        members = rng.integers(0, m + 1, (groups, per)).astype(np.int64)   # m: a missing member
        out = poison((groups, width), dt)
        launch(f"grouped_rows_sum_{dt}", min(groups, 3), 32, 0, ptr(t), i64(m), ptr(members), i64(groups), i32(per), i64(width), ptr(out))
        T = value(t, dt)
        ref = np.zeros((groups, width))
        for g in range(groups):
            for j in range(per):
                if members[g, j] < m:
                    ref[g] += T[members[g, j]]
        check(value(out, dt), ref, tol(dt), f"grouped_rows_sum {dt} m={m} groups={groups} per={per} width={width}")

# ---------------------------------------------------------------- sums (mirrors ReductionLaunchers)
def groups(shape, reduce):
    merged = []
    for d, s in enumerate(shape):
        if s == 1:
            continue
        f = 1 if reduce[d] else 0
        if merged and merged[-1][1] == f:
            merged[-1][0] *= s
        else:
            merged.append([s, f])
    n = len(merged)
    stride = [0] * n
    acc = 1
    for i in range(n - 1, -1, -1):
        stride[i] = acc
        acc *= merged[i][0]
    ks = [m[0] for m in merged if m[1] == 0]
    kst = [stride[i] for i in range(n) if merged[i][1] == 0]
    rs = [m[0] for m in merged if m[1] == 1]
    rst = [stride[i] for i in range(n) if merged[i][1] == 1]
    inner = n == 0 or merged[-1][1] == 1
    return ks, kst, rs, rst, inner


def run_sum(x, shape, reduce, scale, out, dt):
    ks, kst, rs, rst, inner = groups(shape, reduce)
    n_out = int(np.prod(ks)) if ks else 1
    per_out = int(np.prod(rs)) if rs else 1
    if 0 in shape:
        launch(f"sum_thread_{dt}", 2, 64, 0, ptr(x), strided(ks, kst), strided(rs, rst), i64(n_out), i64(0), f64(scale), ptr(out))
        return
    if inner:
        if per_out <= 64:
            launch(f"sum_thread_{dt}", 2, 64, 0, ptr(x), strided(ks, kst), strided(rs, rst), i64(n_out), i64(per_out), f64(scale), ptr(out))
            return
        chunk = 1 << 16
        chunks = (per_out + chunk - 1) // chunk
        partial = np.full(n_out * chunks, np.nan)
        launch(f"sum_block_{dt}", n_out * chunks, 256, 0, ptr(x), strided(ks, kst), strided(rs, rst), i64(per_out), i64(chunk), i32(chunks), f64(scale), ptr(out), ptr(partial if chunks > 1 else None))
        if chunks > 1:
            launch(f"sum_partials_{dt}", 2, 64, 0, ptr(partial), i64(n_out), i64(1), i32(chunks), f64(scale), ptr(out))
        return
    cols = ks[-1]
    outer = n_out // cols
    rows = per_out
    tiles = outer * ((cols + 255) // 256)
    chunks = 1
    if tiles < 128:
        chunks = max(1, min((rows + 63) // 64, 128 * 4 // tiles))
    rows_per = (rows + chunks - 1) // chunks
    chunks = max(1, (rows + rows_per - 1) // rows_per)
    partial = np.full(outer * chunks * cols, np.nan)
    col_blocks = (cols + 255) // 256
    launch(f"sum_cols_{dt}", col_blocks * outer * chunks, 256, 0, ptr(x), strided(ks[:-1], kst[:-1]), strided(rs, rst), i64(cols), i64(rows), i64(rows_per), i32(chunks), f64(scale), ptr(out), ptr(partial if chunks > 1 else None))
    if chunks > 1:
        launch(f"sum_partials_{dt}", 2, 64, 0, ptr(partial), i64(outer), i64(cols), i32(chunks), f64(scale), ptr(out))


for dt in DTYPES:
    for shape in ((7,), (1,), (3, 5), (4, 1, 6), (5, 7, 9), (2, 3, 4, 5), (3, 70000), (70000, 3), (4, 0, 3), (130, 3, 300)):
        r = len(shape)
        for mask in range(1 << r):
            reduce = [bool(mask & (1 << d)) for d in range(r)]
            x = store(rng.uniform(-1, 1, shape), dt)
            os = tuple(1 if reduce[d] else shape[d] for d in range(r))
            out = poison(os, dt)
            scale = 1.0 if mask % 2 == 0 else 0.37
            run_sum(x, shape, reduce, scale, out, dt)
            axes = tuple(d for d in range(r) if reduce[d])
            ref = value(x, dt).sum(axis=axes, keepdims=True) * scale if x.size else np.zeros(os)
            check(value(out, dt), ref, tol(dt), f"sum {dt} {shape} reduce {reduce}")

# ---------------------------------------------------------------- max
for dt in DTYPES:
    for shape in ((7,), (3, 5), (5, 7, 9), (4, 1000), (1000, 3), (6, 300, 5)):
        for dim in range(len(shape)):
            xv = rng.integers(-20, 20, shape).astype(np.float32)
            x = store(xv, dt)
            n = shape[dim]
            inner = int(np.prod(shape[dim + 1:]))
            outer = int(np.prod(shape)) // (n * inner)
            os = tuple(1 if d == dim else s for d, s in enumerate(shape))
            vals = poison(os, dt)
            idx = np.full(os, -7, np.int64)
            if inner == 1 and n > 64:
                launch(f"max_rows_{dt}", outer, 256, 0, ptr(x), i64(outer), i64(n), ptr(vals), ptr(idx))
            else:
                launch(f"max_lines_{dt}", 2, 64, 0, ptr(x), i64(outer), i64(n), i64(inner), ptr(vals), ptr(idx))
            same(idx, np.argmax(xv, axis=dim).reshape(os), f"argmax {dt} {shape} dim {dim}")
            check(value(vals, dt), xv.max(axis=dim, keepdims=True), 0, f"max {dt} {shape} dim {dim}")
            g = store(rng.uniform(-1, 1, os), dt)
            gi = poison(shape, dt)
            launch(f"max_backward_{dt}", 2, 64, 0, ptr(g), ptr(idx), i64(outer), i64(n), i64(inner), ptr(gi))
            ref = np.zeros(shape)
            np.put_along_axis(ref, idx, value(g, dt), axis=dim)
            check(value(gi, dt), ref, 0, f"max backward {dt} {shape} dim {dim}")
xv = np.array([[1, np.nan, 5, np.nan], [2, 3, 9, 9], [-1, -2, -3, -4]], np.float32)
idx = np.full((3, 1), -7, np.int64)
launch("max_lines_f32", 1, 32, 0, ptr(xv), i64(3), i64(4), i64(1), ptr(None), ptr(idx))
same(idx.ravel(), [1, 2, 0], "argmax NaN first (lines)")
xv2 = np.concatenate([xv, np.zeros((3, 100), np.float32) - 10], 1)
idx = np.full((3, 1), -7, np.int64)
launch("max_rows_f32", 3, 256, 0, ptr(xv2), i64(3), i64(104), ptr(None), ptr(idx))
same(idx.ravel(), [1, 2, 0], "argmax NaN first (rows)")

# ---------------------------------------------------------------- sort (mirrors SortLaunchers)
def sort_keys(index):
    n = index.size
    npad = 2
    while npad < n:
        npad <<= 1
    keys = np.zeros(npad, np.uint64)
    launch("sort_make_keys", 2, 64, 0, ptr(index), i32(1 if index.dtype == np.int64 else 0), i64(n), i64(npad), ptr(keys))
    tile = min(2048, npad)
    tiles = npad // tile
    launch("sort_local", tiles, max(1, tile // 2), 0, ptr(keys), i64(npad))
    k = 2 * tile
    while k <= npad:
        j = k // 2
        while j >= tile:
            launch("sort_global_step", 4, 256, 0, ptr(keys), i64(npad), i64(k), i64(j))
            j >>= 1
        launch("sort_local_merge", tiles, max(1, tile // 2), 0, ptr(keys), i64(npad), i64(k))
        k <<= 1
    return keys


for n in (1, 2, 3, 100, 2048, 2049, 5000, 9000):
    index = rng.integers(0, 37, n).astype(np.int64 if n % 2 else np.int32)
    keys = sort_keys(index)
    ref = np.sort((index.astype(np.uint64) << np.uint64(32)) | np.arange(n, dtype=np.uint64))
    same(keys[:n], ref, f"sort n={n}")

# ---------------------------------------------------------------- indexing
def reset():
    bad = np.zeros(1, np.int64)
    launch("index_reset_bad", 1, 32, 0, ptr(bad))
    return bad


for n, inner, size, outer in ((5000, 16, 50, 1), (300, 8, 7, 3), (40, 1, 1000, 1), (2000, 33, 13, 2)):
    for dt in ("f32", "bf16"):
        index = rng.integers(0, min(size, 13), n).astype(np.int64)
        src = store(rng.uniform(-1, 1, (outer, n, inner)), dt)
        dst0 = rng.uniform(-1, 1, (outer, size, inner)).astype(np.float32)
        dst = store(dst0, dt)
        bad = reset()
        launch("index_check", 2, 64, 0, ptr(index), i32(1), i64(n), i64(size), ptr(bad))
        keys = sort_keys(index)
        code = 0 if dt == "f32" else 2
        launch("sorted_index_add", (n, outer), 32, 0, ptr(keys), i64(n), i64(outer), i64(size), i64(inner), ptr(src), i32(code), ptr(dst), i32(code), ptr(bad))
        # reference: fp32 adds in j order onto dst's stored value, rounded to the dtype once at the end
        ref = value(dst0 if dt == "f32" else store(dst0, dt), dt).astype(np.float32)
        S = value(src, dt).astype(np.float32)
        for j in range(n):
            ref[:, index[j], :] = ref[:, index[j], :] + S[:, j, :]
        if dt == "bf16":
            ref = emu.from_bf16(emu.to_bf16(ref))
        same(value(dst, dt).astype(np.float32), ref, f"sorted_index_add {dt} n={n} inner={inner} outer={outer}")
        # column form: for BF16 data the launcher adds into an F32 working copy of dst and rounds it back
        work = value(dst0 if dt == "f32" else store(dst0, dt), dt).astype(np.float32)
        launch("index_add_columns", 3, 64, 0, ptr(work), i32(0), ptr(src), i32(code), ptr(index), i32(1), i64(n), i64(outer), i64(size), i64(inner), ptr(bad))
        got = work if dt == "f32" else emu.from_bf16(emu.to_bf16(work))
        same(got, ref, f"index_add_columns {dt} n={n} inner={inner} outer={outer}")
# a bad index: nothing added, position recorded
index = np.array([0, 3, 9, 1], np.int64)
bad = reset()
launch("index_check", 1, 32, 0, ptr(index), i32(1), i64(4), i64(5), ptr(bad))
dst = np.zeros((5, 2), np.float32)
src = np.ones((4, 2), np.float32)
launch("index_add_columns", 1, 32, 0, ptr(dst), i32(0), ptr(src), i32(0), ptr(index), i32(1), i64(4), i64(1), i64(5), i64(2), ptr(bad))
same(bad, [2], "index_check records the first bad position")
same(dst, np.zeros((5, 2)), "index_add skipped after a bad index")

# index_select with units
for dt_np, width_bytes in ((np.float32, 4), (np.uint16, 2), (np.uint8, 1), (np.int64, 8)):
    for outer, size, inner, n in ((1, 50, 16, 7), (3, 10, 5, 4), (2, 9, 1, 11)):
        src = (rng.integers(0, 200, (outer, size, inner))).astype(dt_np)
        index = rng.integers(0, size, n).astype(np.int32)
        out = np.zeros((outer, n, inner), dt_np)
        row_bytes = inner * width_bytes
        unit = 16
        while unit > 1 and (row_bytes % unit != 0 or (src.ctypes.data | out.ctypes.data) % unit != 0):
            unit >>= 1
        bad = reset()
        launch("index_select_any", 2, 64, 0, ptr(src), i64(size), ptr(index), i32(0), i64(n), ptr(out), i64(outer), i64(row_bytes // unit), i32(unit), ptr(bad))
        same(out, src[:, index, :], f"index_select {dt_np.__name__} {outer}x{size}x{inner} n={n} unit={unit}")
        same(bad, [LLMAX], "index_select no bad")

# gather / scatter_add
for dim in range(3):
    srcs = (5, 6, 7)
    ish = list(srcs)
    ish[dim] = 11
    src = rng.uniform(-1, 1, (7, 6, 5)).astype(np.float32)
    srcv = np.transpose(src, (2, 1, 0))   # [5, 6, 7] strided view
    index = rng.integers(0, srcs[dim], ish).astype(np.int64)
    out = np.full(ish, np.nan, np.float32)
    walk = [s // 4 for s in srcv.strides]
    dim_stride = walk[dim]
    walk[dim] = 0
    bad = reset()
    launch("gather_any", 2, 64, 0, ptr(src), strided(ish, walk), i64(dim_stride), i64(srcs[dim]), ptr(index), i32(1), ptr(out), i64(index.size), i32(4), ptr(bad))
    same(out, np.take_along_axis(srcv, index, axis=dim), f"gather dim {dim}")
    dsh = (4, 5, 6)
    ish = list(dsh)
    ish[dim] = 40
    dst = rng.uniform(-1, 1, dsh).astype(np.float32)
    sv = rng.uniform(-1, 1, ish).astype(np.float32)
    index = rng.integers(0, dsh[dim], ish).astype(np.int64)
    ref = dst.copy()
    for p in np.ndindex(*ish):
        q = list(p)
        q[dim] = index[p]
        ref[tuple(q)] = np.float32(ref[tuple(q)] + sv[p])
    m = ish[dim]
    inner = int(np.prod(ish[dim + 1:]))
    pos_shape = [s for d, s in enumerate(ish) if d != dim]
    dstr = [s // 4 for d, s in enumerate(dst.strides) if d != dim]
    sstr = [s // 4 for d, s in enumerate(sv.strides) if d != dim]
    bad = reset()
    launch("scatter_add_any", 2, 64, 0, ptr(dst), strided(pos_shape, dstr), i64(dst.strides[dim] // 4), ptr(sv), strided(pos_shape, sstr), i64(sv.strides[dim] // 4), ptr(index), i32(1), i64(index.size // m), i64(m), i64(inner), i64(dsh[dim]), i32(0), ptr(bad))
    same(dst, ref, f"scatter_add dim {dim}")

# ---------------------------------------------------------------- topk
def topk_ref(x, k, dim):
    # value descending, index ascending, NaN largest, -0 == 0
    xs = np.moveaxis(x, dim, -1)
    out_v = np.zeros(xs.shape[:-1] + (k,), x.dtype)
    out_i = np.zeros(xs.shape[:-1] + (k,), np.int64)
    for idx in np.ndindex(*xs.shape[:-1]):
        line = xs[idx]
        key = [(0 if np.isnan(v) else 1, -(0.0 if v == 0 else float(v)) if not np.isnan(v) else 0, j) for j, v in enumerate(line)]
        order = [kk[2] for kk in sorted(key)][:k]
        out_i[idx] = order
        out_v[idx] = line[order]
    return np.moveaxis(out_v, -1, dim), np.moveaxis(out_i, -1, dim)


for shape, dim, k in (((10,), 0, 10), ((3, 64), 1, 8), ((100, 7), 0, 5), ((2, 5000), 1, 50), ((2, 5000), 1, 3000), ((3, 2049), 1, 2049), ((7, 9, 3), 1, 4), ((2, 3000), 1, 1)):
    x = rng.integers(-500, 500, shape).astype(np.float32)
    n = shape[dim]
    inner = int(np.prod(shape[dim + 1:]))
    outer = int(np.prod(shape)) // (n * inner)
    os = list(shape)
    os[dim] = k
    vals = np.full(os, np.nan, np.float32)
    idx = np.full(os, -7, np.int64)
    lines = outer * inner
    threads = min(1024, max(32, max(2, emu.pow2_at_least(n)) // 2)) if n <= 2048 else 1024
    ws = None
    if n > 2048 and k > 2048:
        p = 2
        while p < k:
            p <<= 1
        ws = np.zeros(lines * p, np.uint64)
    launch("topk_f32", lines, threads, 0, ptr(x), i64(outer), i64(n), i64(inner), i32(k), ptr(vals), ptr(idx), ptr(ws))
    rv, ri = topk_ref(x, k, dim)
    same(idx, ri, f"topk indices {shape} dim {dim} k {k}")
    same(vals, rv, f"topk values {shape} dim {dim} k {k}")
x = np.array([-0.0, 0.0, np.nan, 3, -np.inf, np.inf, np.nan, -1], np.float32)
vals = np.zeros(8, np.float32); idx = np.zeros(8, np.int64)
launch("topk_f32", 1, 32, 0, ptr(x), i64(1), i64(8), i64(1), i32(8), ptr(vals), ptr(idx), ptr(None))
same(idx, [2, 6, 5, 3, 0, 1, 7, 4], "topk NaN and signed zero order")

# ---------------------------------------------------------------- where
shape = (6, 7, 9)
cond = rng.integers(0, 2, (6, 1, 9)).astype(np.uint8)
a = rng.uniform(-1, 1, (7, 9)).astype(np.float32)
b = np.array([5.0], np.float32)
out = np.full(shape, np.nan, np.float32)
launch("where_strided_any", 2, 64, 0, ptr(cond), strided(shape, [9, 0, 1]), ptr(a), strided(shape, [0, 9, 1]), ptr(b), strided(shape, [0, 0, 0]), ptr(out), i64(out.size), i32(4))
same(out, np.where(np.broadcast_to(cond, shape) != 0, np.broadcast_to(a, shape), 5.0), "where broadcast")

print("FAILURES:", emu.FAILS if emu.FAILS else "none")
sys.exit(1 if emu.FAILS else 0)
