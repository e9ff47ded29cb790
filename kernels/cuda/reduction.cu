// Sums and maxima over dims: the CUDA side of dev.panomni.tensor.ops.ReductionKernels (CPU twin:
// tensor/.../cpu/CpuReductionKernels.java).
//
// Sums: the launcher merges neighbouring dims that are both reduced or both kept (as the CPU does)
// and describes the kept and the reduced index spaces as Strided descriptors over the contiguous
// input, so output o and reduced index r address x[offset(kept, o) + offset(red, r)]. Values are
// accumulated in fp64. Every split of the work (chunks, block size) is a function of the shapes
// only, and partial sums are added in chunk order, so results are the same bits on every run.
#include "vec.cuh"

#define SUM_THREADS 256

// Thread per output: short reductions (the launcher's choice when perOut is small). perOut may be
// 0 (sums over no elements are 0 * scale).
template <typename T>
__device__ void sum_thread(const T* x, Strided kept, Strided red, long long n_out, long long per_out, double scale,
                           T* out) {
    GRID_STRIDE_LOOP(o, n_out) {
        long long base = strided_offset(kept, o);
        double acc = 0.0;
        for (long long r = 0; r < per_out; r++) acc += (double)to_f(x[base + strided_offset(red, r)]);
        out[o] = from_f<T>((float)(acc * scale));
    }
}

// Block per (output, chunk) with the innermost dim reduced: elements [c * chunk, min(per_out,
// (c + 1) * chunk)) of output o's reduction. One chunk: the result goes to out; several: the
// fp64 partial goes to partial[o * chunks + c]. Block SUM_THREADS; grid n_out * chunks.
template <typename T>
__device__ void sum_block(const T* x, Strided kept, Strided red, long long per_out, long long chunk, int chunks,
                          double scale, T* out, double* partial) {
    __shared__ double sums[SUM_THREADS];
    long long o = blockIdx.x / chunks;
    int c = blockIdx.x % chunks;
    long long base = strided_offset(kept, o);
    long long from = (long long)c * chunk;
    long long to = min(per_out, from + chunk);
    double acc = 0.0;
    for (long long r = from + threadIdx.x; r < to; r += SUM_THREADS) acc += (double)to_f(x[base + strided_offset(red, r)]);
    sums[threadIdx.x] = acc;
    __syncthreads();
    for (int s = SUM_THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sums[threadIdx.x] += sums[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        if (chunks == 1) out[o] = from_f<T>((float)(sums[0] * scale));
        else partial[o * chunks + c] = sums[0];
    }
}

// Innermost dim kept (cols wide, stride 1): thread per (outer o, row chunk rc, column c) summing
// reduced rows [rc * rows_per, min(rows, (rc + 1) * rows_per)). kept_outer: the kept dims but the
// innermost. One chunk: out[o, c]; several: partial[(o * chunks + rc) * cols + c].
// Block SUM_THREADS; grid ceil(cols / SUM_THREADS) * n_outer * chunks (column blocks fastest).
template <typename T>
__device__ void sum_cols(const T* x, Strided kept_outer, Strided red, long long cols, long long rows,
                         long long rows_per, int chunks, double scale, T* out, double* partial) {
    long long col_blocks = (cols + SUM_THREADS - 1) / SUM_THREADS;
    long long b = blockIdx.x;
    long long cb = b % col_blocks;
    long long rest = b / col_blocks;
    int rc = (int)(rest % chunks);
    long long o = rest / chunks;
    long long c = cb * SUM_THREADS + threadIdx.x;
    if (c >= cols) return;
    long long base = strided_offset(kept_outer, o) + c;
    long long from = (long long)rc * rows_per;
    long long to = min(rows, from + rows_per);
    double acc = 0.0;
    for (long long r = from; r < to; r++) acc += (double)to_f(x[base + strided_offset(red, r)]);
    if (chunks == 1) out[o * cols + c] = from_f<T>((float)(acc * scale));
    else partial[(o * chunks + rc) * cols + c] = acc;
}

// out[o * inner + c] = scale * sum over k < chunks of partial[(o * chunks + k) * inner + c], in k order.
template <typename T>
__device__ void sum_partials(const double* partial, long long n_out, long long inner, int chunks, double scale,
                             T* out) {
    GRID_STRIDE_LOOP(e, n_out * inner) {
        long long o = e / inner;
        long long c = e % inner;
        double acc = 0.0;
        for (int k = 0; k < chunks; k++) acc += partial[(o * chunks + k) * inner + c];
        out[e] = from_f<T>((float)(acc * scale));
    }
}

// ------------------------------------------------------------------------------------ max

struct Best {
    float v;
    long long i;
};

// NaN beats every number (the first NaN wins); otherwise the larger value, ties to the lower index.
__device__ __forceinline__ Best better(Best a, Best b) {
    bool an = a.v != a.v, bn = b.v != b.v;
    if (an || bn) {
        if (an && bn) return a.i <= b.i ? a : b;
        return an ? a : b;
    }
    if (a.v > b.v) return a;
    if (b.v > a.v) return b;
    return a.i <= b.i ? a : b;
}

// Block per row of a [rows, n] view (the reduced dim innermost). Block SUM_THREADS.
template <typename T>
__device__ void max_rows(const T* x, long long rows, long long n, T* values, long long* indices) {
    __shared__ float bv[SUM_THREADS];
    __shared__ long long bi[SUM_THREADS];
    long long row = blockIdx.x;
    if (row >= rows) return;
    const T* xr = x + row * n;
    Best best{-INFINITY, LLONG_MAX};
    for (long long k = threadIdx.x; k < n; k += SUM_THREADS) best = better(best, Best{to_f(xr[k]), k});
    bv[threadIdx.x] = best.v;
    bi[threadIdx.x] = best.i;
    __syncthreads();
    for (int s = SUM_THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            Best m = better(Best{bv[threadIdx.x], bi[threadIdx.x]}, Best{bv[threadIdx.x + s], bi[threadIdx.x + s]});
            bv[threadIdx.x] = m.v;
            bi[threadIdx.x] = m.i;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        // A row of all -inf leaves the sentinel index: the first element is the answer then.
        long long at = bi[0] == LLONG_MAX ? 0 : bi[0];
        if (values != nullptr) values[row] = xr[at];
        if (indices != nullptr) indices[row] = at;
    }
}

// Thread per (outer o, inner i) line of an [outer, n, inner] view, walking the n entries in order.
template <typename T>
__device__ void max_lines(const T* x, long long outer, long long n, long long inner, T* values, long long* indices) {
    GRID_STRIDE_LOOP(e, outer * inner) {
        long long o = e / inner;
        long long i = e % inner;
        const T* line = x + o * n * inner + i;
        float best = to_f(line[0]);
        long long at = 0;
        for (long long r = 1; r < n; r++) {
            float v = to_f(line[r * inner]);
            if (v > best || (v != v && best == best)) {
                best = v;
                at = r;
            }
        }
        if (values != nullptr) values[e] = line[at * inner];
        if (indices != nullptr) indices[e] = at;
    }
}

// gin [outer, n, inner] = gout [outer, 1, inner] at the argmax, 0 elsewhere.
template <typename T>
__device__ void max_backward(const T* gout, const long long* indices, long long outer, long long n, long long inner,
                             T* gin) {
    GRID_STRIDE_LOOP(e, outer * n * inner) {
        long long i = e % inner;
        long long r = (e / inner) % n;
        long long o = e / (inner * n);
        long long src = o * inner + i;
        gin[e] = indices[src] == r ? gout[src] : from_f<T>(0.0f);
    }
}

#define REDUCTION_ENTRIES(SUF, T)                                                                          \
    extern "C" __global__ void sum_thread_##SUF(const T* x, Strided kept, Strided red, long long n_out,   \
                                                long long per_out, double scale, T* out) {                 \
        sum_thread<T>(x, kept, red, n_out, per_out, scale, out);                                           \
    }                                                                                                      \
    extern "C" __global__ void __launch_bounds__(SUM_THREADS) sum_block_##SUF(                             \
        const T* x, Strided kept, Strided red, long long per_out, long long chunk, int chunks,             \
        double scale, T* out, double* partial) {                                                           \
        sum_block<T>(x, kept, red, per_out, chunk, chunks, scale, out, partial);                           \
    }                                                                                                      \
    extern "C" __global__ void __launch_bounds__(SUM_THREADS) sum_cols_##SUF(                              \
        const T* x, Strided kept_outer, Strided red, long long cols, long long rows, long long rows_per,   \
        int chunks, double scale, T* out, double* partial) {                                               \
        sum_cols<T>(x, kept_outer, red, cols, rows, rows_per, chunks, scale, out, partial);                \
    }                                                                                                      \
    extern "C" __global__ void sum_partials_##SUF(const double* partial, long long n_out, long long inner, \
                                                  int chunks, double scale, T* out) {                      \
        sum_partials<T>(partial, n_out, inner, chunks, scale, out);                                        \
    }                                                                                                      \
    extern "C" __global__ void __launch_bounds__(SUM_THREADS) max_rows_##SUF(                              \
        const T* x, long long rows, long long n, T* values, long long* indices) {                          \
        max_rows<T>(x, rows, n, values, indices);                                                          \
    }                                                                                                      \
    extern "C" __global__ void max_lines_##SUF(const T* x, long long outer, long long n, long long inner,  \
                                               T* values, long long* indices) {                            \
        max_lines<T>(x, outer, n, inner, values, indices);                                                 \
    }                                                                                                      \
    extern "C" __global__ void max_backward_##SUF(const T* gout, const long long* indices, long long outer,\
                                                  long long n, long long inner, T* gin) {                  \
        max_backward<T>(gout, indices, outer, n, inner, gin);                                              \
    }
PANOMNI_FOR_FLOAT_TYPES(REDUCTION_ENTRIES)
