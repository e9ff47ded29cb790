// Gather, scatter-add, index-select and index-add: the CUDA side of
// dev.panomni.tensor.ops.IndexingKernels (CPU twin: tensor/.../cpu/CpuIndexingKernels.java); the
// embedding lookup is index_select along dim 0 and its backward is sorted_index_add.
//
// Indices are checked on the device: a kernel that meets an index outside [0, size) records the
// smallest such position of the index tensor in *bad (atomicMin on an integer, initialized to
// LLONG_MAX by index_reset_bad) and skips that element; the host reads *bad afterwards and throws.
// Accumulating kernels add each destination element's contributions in ascending source order
// within one thread, so results are deterministic with no float atomics.
#include "common.cuh"

__device__ __forceinline__ long long index_at(const void* index, int i64, long long p) {
    return i64 ? ((const long long*)index)[p] : (long long)((const int*)index)[p];
}

__device__ __forceinline__ void record_bad(long long* bad, long long position) {
    atomicMin((unsigned long long*)bad, (unsigned long long)position);
}

template <typename E> __device__ __forceinline__ void copy_unit(const void* src, long long s, void* dst, long long d) {
    ((E*)dst)[d] = ((const E*)src)[s];
}

__device__ __forceinline__ void copy_width(const void* src, long long s, void* dst, long long d, int width) {
    switch (width) {
        case 1: copy_unit<uint8_t>(src, s, dst, d); break;
        case 2: copy_unit<uint16_t>(src, s, dst, d); break;
        case 4: copy_unit<uint32_t>(src, s, dst, d); break;
        case 8: copy_unit<uint64_t>(src, s, dst, d); break;
        default: copy_unit<uint4>(src, s, dst, d); break;
    }
}

extern "C" __global__ void index_reset_bad(long long* bad) {
    if (threadIdx.x == 0 && blockIdx.x == 0) *bad = LLONG_MAX;
}

// Records the first index outside [0, size) of index [n].
extern "C" __global__ void index_check(const void* index, int i64, long long n, long long size, long long* bad) {
    GRID_STRIDE_LOOP(p, n) {
        long long v = index_at(index, i64, p);
        if (v < 0 || v >= size) record_bad(bad, p);
    }
}

// out[p] = src[p with coordinate dim replaced by index[p]], p over index's shape (= out's, contiguous).
// walk: index's shape with src's strides, the stride of dim set to 0; width: element bytes.
extern "C" __global__ void gather_any(const void* src, Strided walk, long long dim_stride, long long size,
                                      const void* index, int i64, void* out, long long n, int width, long long* bad) {
    GRID_STRIDE_LOOP(p, n) {
        long long v = index_at(index, i64, p);
        if (v < 0 || v >= size) {
            record_bad(bad, p);
            continue;
        }
        copy_width(src, strided_offset(walk, p) + v * dim_stride, out, p, width);
    }
}

// dst[pos with coordinate dim = index[pos, j]] += src[pos, j] for j = 0..m-1 in order; one thread per
// position pos (all coordinates of index's shape but dim). dwalk/swalk: the position space (index's
// shape without dim) with dst's / src's strides; inner: the product of index's extents after dim.
extern "C" __global__ void scatter_add_any(void* dst, Strided dwalk, long long d_dim, const void* src, Strided swalk,
                                           long long s_dim, const void* index, int i64, long long positions,
                                           long long m, long long inner, long long size, int dt, long long* bad) {
    GRID_STRIDE_LOOP(pos, positions) {
        long long od = strided_offset(dwalk, pos);
        long long os = strided_offset(swalk, pos);
        long long ibase = (pos / inner) * m * inner + pos % inner;
        for (long long j = 0; j < m; j++) {
            long long ip = ibase + j * inner;
            long long v = index_at(index, i64, ip);
            if (v < 0 || v >= size) {
                record_bad(bad, ip);
                continue;
            }
            long long de = od + v * d_dim;
            long long se = os + j * s_dim;
            if (is_float(dt)) store_f(dst, dt, de, load_f(dst, dt, de) + load_f(src, dt, se));
            else store_l(dst, dt, de, load_l(dst, dt, de) + load_l(src, dt, se));
        }
    }
}

// out[o, j, :] = src[o, index[j], :] for src [outer, size, row] and out [outer, n, row] (contiguous),
// moved in units of width bytes (units_per_row of them a row; the launcher picks the widest unit
// that divides the row and the base addresses).
extern "C" __global__ void index_select_any(const void* src, long long size, const void* index, int i64, long long n,
                                            void* out, long long outer, long long units_per_row, int width,
                                            long long* bad) {
    GRID_STRIDE_LOOP(e, outer * n * units_per_row) {
        long long u = e % units_per_row;
        long long row = e / units_per_row;
        long long j = row % n;
        long long o = row / n;
        long long v = index_at(index, i64, j);
        if (v < 0 || v >= size) {
            if (u == 0) record_bad(bad, j);
            continue;
        }
        copy_width(src, (o * size + v) * units_per_row + u, out, e, width);
    }
}

// index_add, column form: thread per (o, c) of dst [outer, size, inner] adds src[o, j, c] into
// dst[o, index[j], c] for j = 0..n-1 in order. dst and src may differ in float dtype: for BF16/F16
// data the launcher passes an F32 working copy of dst, so every sum is formed in fp32 and rounded
// once (as the CPU backend's F32 working copy does). Runs only when *bad is still LLONG_MAX (the
// launcher ran index_check first), so a bad index leaves dst untouched.
extern "C" __global__ void index_add_columns(void* dst, int dst_dt, const void* src, int src_dt, const void* index,
                                             int i64, long long n, long long outer, long long size,
                                             long long inner, const long long* bad) {
    if (*bad != LLONG_MAX) return;
    GRID_STRIDE_LOOP(e, outer * inner) {
        long long o = e / inner;
        long long c = e % inner;
        if (is_float(dst_dt)) {
            for (long long j = 0; j < n; j++) {
                long long de = (o * size + index_at(index, i64, j)) * inner + c;
                store_f(dst, dst_dt, de, load_f(dst, dst_dt, de) + load_f(src, src_dt, (o * n + j) * inner + c));
            }
        } else {
            for (long long j = 0; j < n; j++) {
                long long de = (o * size + index_at(index, i64, j)) * inner + c;
                store_l(dst, dst_dt, de, load_l(dst, dst_dt, de) + load_l(src, src_dt, (o * n + j) * inner + c));
            }
        }
    }
}

// index_add, sorted form (also the embedding backward): keys[0..n) are (index << 32 | j) sorted
// ascending (sort.cu), so the sources of one destination row are a run of keys in ascending j.
// Block (p, y) with p the start of a run walks it and, for each outer slice o = y, y + gridDim.y,
// ..., adds src rows [o, j, :] into dst row [o, index, :]. Each column is summed in an fp32 register
// and rounded to the dst dtype once at the end, in the same order as the CPU backend's F32 working
// copy, so F32 results match it bit for bit and BF16/F16 ones differ only by that one rounding.
// Grid (n, min(outer, 65535)); any block size.
extern "C" __global__ void sorted_index_add(const unsigned long long* keys, long long n, long long outer,
                                            long long size, long long inner, const void* src, int src_dt, void* dst,
                                            int dst_dt, const long long* bad) {
    if (*bad != LLONG_MAX) return;
    long long p = blockIdx.x;
    if (p >= n) return;
    long long v = (long long)(keys[p] >> 32);
    if (p > 0 && (long long)(keys[p - 1] >> 32) == v) return;
    long long end = p + 1;
    while (end < n && (long long)(keys[end] >> 32) == v) end++;
    for (long long o = blockIdx.y; o < outer; o += gridDim.y) {
        long long drow = (o * size + v) * inner;
        for (long long c = threadIdx.x; c < inner; c += blockDim.x) {
            if (is_float(dst_dt)) {
                float acc = load_f(dst, dst_dt, drow + c);
                for (long long q = p; q < end; q++) {
                    long long j = (long long)(keys[q] & 0xffffffffull);
                    acc += load_f(src, src_dt, (o * n + j) * inner + c);
                }
                store_f(dst, dst_dt, drow + c, acc);
            } else {
                long long acc = load_l(dst, dst_dt, drow + c);
                for (long long q = p; q < end; q++) {
                    long long j = (long long)(keys[q] & 0xffffffffull);
                    acc += load_l(src, src_dt, (o * n + j) * inner + c);
                }
                store_l(dst, dst_dt, drow + c, acc);
            }
        }
    }
}
