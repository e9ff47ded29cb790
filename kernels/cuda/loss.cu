// Cross-entropy over rows of logits: the CUDA side of dev.panomni.tensor.ops.LossKernels (CPU twin:
// tensor/.../cpu/CpuLossKernels.java). A group of g threads owns a row (as in softmax.cu); the
// row's maximum and sum of exponentials come from one online pass in chunks of 16-byte vectors. The
// fused kernel keeps the row in registers for the gradient when each lane holds at most CE_CHUNK
// vectors of it (rows up to 64K bf16 logits), so it moves one read and one write of the logits;
// longer rows are read a second time (mostly from L2, thanks to an evict-last hint).
#include "vec.cuh"

__device__ __forceinline__ long long target_at(const void* targets, int i64, long long r) {
    return i64 ? ((const long long*)targets)[r] : (long long)((const int*)targets)[r];
}

// One block of a power-of-two size up to 1024: counts targets != ignore and finds the first one outside [0, classes).
// out[0] = counted, out[1] = first invalid position or -1.
extern "C" __global__ void ce_check_targets(const void* targets, int i64, long long n, long long classes,
                                            long long ignore, long long* out) {
    __shared__ long long counts[1024];
    __shared__ long long firsts[1024];
    long long count = 0;
    long long first = LLONG_MAX;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) {
        long long t = target_at(targets, i64, i);
        if (t == ignore) continue;
        if (t < 0 || t >= classes) {
            if (i < first) first = i;
        } else {
            count++;
        }
    }
    counts[threadIdx.x] = count;
    firsts[threadIdx.x] = first;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            counts[threadIdx.x] += counts[threadIdx.x + s];
            firsts[threadIdx.x] = min(firsts[threadIdx.x], firsts[threadIdx.x + s]);
        }
        __syncthreads();
    }
    long long f = firsts[0];
    long long counted = counts[0];
    if (f != LLONG_MAX) {
        // The CPU kernel stops at the first invalid target: count only the targets before it.
        long long c = 0;
        for (long long i = threadIdx.x; i < f; i += blockDim.x) {
            if (target_at(targets, i64, i) != ignore) c++;
        }
        __syncthreads();
        counts[threadIdx.x] = c;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) counts[threadIdx.x] += counts[threadIdx.x + s];
            __syncthreads();
        }
        counted = counts[0];
    }
    if (threadIdx.x == 0) {
        out[0] = counted;
        out[1] = f == LLONG_MAX ? -1 : f;
    }
}

// Vectors of a row one lane loads before it reduces them: all its loads of a chunk are in flight
// together, and the chunk's maximum is taken before any exponential, so the running sum is
// rescaled once a chunk rather than once a vector.
#define CE_CHUNK 8
#define CE_LOG2E 1.4426950408889634f

// 2^x in one special-function instruction; exp(x - m) is computed as 2^(x log2(e) - m log2(e)), one
// FMA and this, so the kernels stay memory-bound rather than bound by the accurate expf sequence.
__device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// Merges into the running (m, s) the vectors raw[c] of this lane's chunk, those with
// first + c * g < nvec (vector indices first, first + g, ...).
template <typename T>
__device__ __forceinline__ void merge_chunk(const uint4 (&raw)[CE_CHUNK], int first, int nvec, int g, float& m,
                                            float& s) {
    constexpr int N = Vec<T>::N;
    float cm = -INFINITY;
#pragma unroll
    for (int c = 0; c < CE_CHUNK; c++) {
        if (first + c * g < nvec) {
#pragma unroll
            for (int i = 0; i < N; i++) cm = fmaxf(cm, raw_elem<T>(raw[c], i));
        }
    }
    float mn = fmaxf(m, cm);
    if (mn == -INFINITY) return;
    float ml = mn * CE_LOG2E;
    float acc = 0.0f;
#pragma unroll
    for (int c = 0; c < CE_CHUNK; c++) {
        if (first + c * g < nvec) {
#pragma unroll
            for (int i = 0; i < N; i++) acc += ex2(fmaf(raw_elem<T>(raw[c], i), CE_LOG2E, -ml));
        }
    }
    s = s * ex2((m - mn) * CE_LOG2E) + acc;
    m = mn;
}

// Loads this lane's chunk starting at vector first (keep: with the evict-last hint).
template <typename T, bool KEEP>
__device__ __forceinline__ void load_chunk(const T* xr, int first, int nvec, int g, uint4 (&raw)[CE_CHUNK]) {
    constexpr int N = Vec<T>::N;
#pragma unroll
    for (int c = 0; c < CE_CHUNK; c++) {
        int v = first + c * g;
        if (v < nvec) raw[c] = KEEP ? load_raw_keep(xr + v * N) : load_raw(xr + v * N);
    }
}

// Merges (m, s) with (m2, s2), as merge_max_sum in vec.cuh but with ex2.
__device__ __forceinline__ void merge_stats(float& m, float& s, float m2, float s2) {
    float mn = fmaxf(m, m2);
    if (mn == -INFINITY) return;
    s = s * ex2((m - mn) * CE_LOG2E) + s2 * ex2((m2 - mn) * CE_LOG2E);
    m = mn;
}

// The row's (m, s) merged and x summed over a group of g lanes (as group_max_sum and group_sum in
// vec.cuh, in one exchange): every lane gets the results. scratch: blockDim.x / 32 entries; the
// whole block calls this together.
__device__ __forceinline__ void group_stats(float& m, float& s, float& x, int g, float4* scratch) {
    int width = g < 32 ? g : 32;
    for (int o = width >> 1; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o);
        float s2 = __shfl_xor_sync(0xffffffffu, s, o);
        x += __shfl_xor_sync(0xffffffffu, x, o);
        merge_stats(m, s, m2, s2);
    }
    if (g <= 32) return;
    int warp = threadIdx.x >> 5;
    int warps_per_group = g >> 5;
    int first = warp / warps_per_group * warps_per_group;
    __syncthreads();
    if ((threadIdx.x & 31) == 0) scratch[warp] = make_float4(m, s, x, 0.0f);
    __syncthreads();
    float mm = -INFINITY, ss = 0.0f, xx = 0.0f;
    for (int w = 0; w < warps_per_group; w++) {
        float4 e = scratch[first + w];
        merge_stats(mm, ss, e.x, e.y);
        xx += e.z;
    }
    m = mm;
    s = ss;
    x = xx;
}

// Per row: max m and sum s of exp(x - m) over the row, merged over the group; xt = the target
// logit (0 when ignored), which every lane receives through a reduction, so its read has completed
// before any lane of the row overwrites the row in place. Vector rows (vec) go chunk by chunk;
// with HELD (the caller has checked nvec <= CE_CHUNK * g) there is one chunk, which raw keeps.
template <typename T, bool KEEP, bool HELD>
__device__ __forceinline__ void row_stats(const T* xr, long long n, int g, int lane, bool live, long long t,
                                          bool ignored, float& m, float& s, float& xt, float4* scratch,
                                          bool vec, uint4 (&raw)[CE_CHUNK]) {
    constexpr int N = Vec<T>::N;
    m = -INFINITY;
    s = 0.0f;
    float mine = 0.0f;
    if (live) {
        if (lane == 0 && !ignored) mine = to_f(xr[t]);
        if (vec) {
            int nvec = (int)(n / N);
            load_chunk<T, KEEP>(xr, lane, nvec, g, raw);
            merge_chunk<T>(raw, lane, nvec, g, m, s);
            for (int first = lane + CE_CHUNK * g; !HELD && first < nvec; first += CE_CHUNK * g) {
                uint4 more[CE_CHUNK];
                load_chunk<T, KEEP>(xr, first, nvec, g, more);
                merge_chunk<T>(more, first, nvec, g, m, s);
            }
        } else {
            for (long long k = lane; k < n; k += g) {
                float e = to_f(xr[k]);
                float mn = fmaxf(m, e);
                if (mn != -INFINITY) {
                    s = s * expf(m - mn) + expf(e - mn);
                    m = mn;
                }
            }
        }
    }
    group_stats(m, s, mine, g, scratch);
    xt = mine;
}

template <typename T>
__device__ void ce_forward(const T* logits, const void* targets, int i64, long long rows, long long n,
                           long long ignore, float* row_loss, float* row_lse, int g) {
    __shared__ float4 scratch[32];
    int groups = blockDim.x / g;
    int lane = threadIdx.x % g;
    long long row = (long long)blockIdx.x * groups + threadIdx.x / g;
    bool live = row < rows;
    long long t = live ? target_at(targets, i64, row) : ignore;
    bool ignored = t == ignore;
    const T* xr = logits + (live ? row : 0) * n;
    bool vec = aligned16(logits) && (n % Vec<T>::N == 0);
    float m, s, xt;
    uint4 raw[CE_CHUNK];
    row_stats<T, false, false>(xr, n, g, lane, live, t, ignored, m, s, xt, scratch, vec, raw);
    if (live && lane == 0) {
        float log_sum = logf(s);
        row_loss[row] = ignored ? 0.0f : (m - xt) + log_sum;
        if (row_lse != nullptr) row_lse[row] = m + log_sum;
    }
}

// grad = (exp(x - lse) - onehot(t)) * upstream * scale; ignored rows all zero. grad may alias logits.
template <typename T>
__device__ void ce_backward(const T* logits, const void* targets, int i64, long long rows, long long n,
                            long long ignore, const float* row_lse, const T* upstream, double scale, T* grad,
                            int g) {
    constexpr int N = Vec<T>::N;
    int groups = blockDim.x / g;
    int lane = threadIdx.x % g;
    long long row = (long long)blockIdx.x * groups + threadIdx.x / g;
    if (row >= rows) return;
    long long t = target_at(targets, i64, row);
    bool ignored = t == ignore;
    float coef = (float)((double)to_f(upstream[0]) * scale);
    float lse = ignored ? 0.0f : row_lse[row];
    const T* xr = logits + row * n;
    T* gr = grad + row * n;
    if (aligned16(logits) && aligned16(grad) && (n % N == 0)) {
        for (long long v = lane; v < n / N; v += g) {
            float e[N];
            if (ignored) {
#pragma unroll
                for (int i = 0; i < N; i++) e[i] = 0.0f;
            } else {
                load_vec(xr + v * N, e);
#pragma unroll
                for (int i = 0; i < N; i++) {
                    float p = expf(e[i] - lse) * coef;
                    e[i] = (v * N + i == t) ? p - coef : p;
                }
            }
            store_vec(gr + v * N, e);
        }
    } else {
        for (long long k = lane; k < n; k += g) {
            float p = ignored ? 0.0f : expf(to_f(xr[k]) - lse) * coef;
            gr[k] = from_f<T>(!ignored && k == t ? p - coef : p);
        }
    }
}

// The gradient of one vector v of a row: (2^(x log2 e - ml) * k) - coef at the target t; zeros for
// ignored rows.
template <typename T>
__device__ __forceinline__ void grad_vec(const uint4& raw, int v, long long t, bool ignored, float ml, float k,
                                         float coef, T* gr) {
    constexpr int N = Vec<T>::N;
    float e[N];
    long long rel = t - (long long)v * N;
#pragma unroll
    for (int i = 0; i < N; i++) {
        float p = ignored ? 0.0f : ex2(fmaf(raw_elem<T>(raw, i), CE_LOG2E, -ml)) * k;
        e[i] = (!ignored && rel == i) ? p - coef : p;
    }
    store_vec(gr + v * N, e);
}

// Loss and gradient in one kernel: grad = (softmax(x) - onehot(t)) * grad_scale. grad may alias
// logits. HELD (ce_fused_held_*: the launcher has checked that the row is read in 16-byte vectors
// and that each lane holds at most CE_CHUNK of them) keeps the row in registers between the
// statistics and the gradient: one read and one write of the logits. The general kernel reads a
// vector row a second time (mostly from L2, thanks to the evict-last hint of the first read).
template <typename T, bool HELD>
__device__ void ce_fused(const T* logits, const void* targets, int i64, long long rows, long long n, long long ignore,
                         double grad_scale, float* row_loss, T* grad, int g) {
    __shared__ float4 scratch[32];
    constexpr int N = Vec<T>::N;
    int groups = blockDim.x / g;
    int lane = threadIdx.x % g;
    long long row = (long long)blockIdx.x * groups + threadIdx.x / g;
    bool live = row < rows;
    long long t = live ? target_at(targets, i64, row) : ignore;
    bool ignored = t == ignore;
    const T* xr = logits + (live ? row : 0) * n;
    T* gr = grad + (live ? row : 0) * n;
    bool vec = HELD || (aligned16(logits) && aligned16(grad) && (n % N == 0));
    int nvec = (int)(n / N);
    float m, s, xt;
    uint4 raw[CE_CHUNK];
    // Ignored rows skip the statistics (their loss and gradient are zero).
    row_stats<T, !HELD, HELD>(xr, n, g, lane, live && !ignored, t, ignored, m, s, xt, scratch, vec, raw);
    if (!live) return;
    if (lane == 0) row_loss[row] = ignored ? 0.0f : (m - xt) + logf(s);
    float coef = (float)grad_scale;
    float k = ignored ? 0.0f : (float)(grad_scale / (double)s);
    float ml = m * CE_LOG2E;
    if (HELD) {
#pragma unroll
        for (int c = 0; c < CE_CHUNK; c++) {
            int v = lane + c * g;
            if (v < nvec) grad_vec<T>(raw[c], v, t, ignored, ml, k, coef, gr);
        }
    } else if (vec) {
        for (int v = lane; v < nvec; v += g) {
            uint4 r = ignored ? make_uint4(0, 0, 0, 0) : load_raw(xr + v * N);
            grad_vec<T>(r, v, t, ignored, ml, k, coef, gr);
        }
    } else {
        for (long long q = lane; q < n; q += g) {
            float p = ignored ? 0.0f : expf(to_f(xr[q]) - m) * k;
            gr[q] = from_f<T>(!ignored && q == t ? p - coef : p);
        }
    }
}

#define CE_ENTRIES(SUF, T)                                                                                 \
    extern "C" __global__ void __launch_bounds__(1024) ce_forward_##SUF(const T* logits, const void* targets, int i64,            \
                                                long long rows, long long n, long long ignore,             \
                                                float* row_loss, float* row_lse, int g) {                  \
        ce_forward<T>(logits, targets, i64, rows, n, ignore, row_loss, row_lse, g);                        \
    }                                                                                                      \
    extern "C" __global__ void ce_backward_##SUF(const T* logits, const void* targets, int i64,           \
                                                 long long rows, long long n, long long ignore,            \
                                                 const float* row_lse, const T* upstream, double scale,    \
                                                 T* grad, int g) {                                         \
        ce_backward<T>(logits, targets, i64, rows, n, ignore, row_lse, upstream, scale, grad, g);          \
    }                                                                                                      \
    extern "C" __global__ void __launch_bounds__(1024) ce_fused_##SUF(const T* logits, const void* targets,  \
                                                                   int i64, long long rows, long long n,      \
                                                                   long long ignore, double grad_scale,       \
                                                                   float* row_loss, T* grad, int g) {         \
        ce_fused<T, false>(logits, targets, i64, rows, n, ignore, grad_scale, row_loss, grad, g);          \
    }                                                                                                      \
    extern "C" __global__ void __launch_bounds__(512, 2) ce_fused_held_##SUF(const T* logits,               \
                                                                          const void* targets, int i64,     \
                                                                          long long rows, long long n,      \
                                                                          long long ignore,                 \
                                                                          double grad_scale,                \
                                                                          float* row_loss, T* grad, int g) {\
        ce_fused<T, true>(logits, targets, i64, rows, n, ignore, grad_scale, row_loss, grad, g);           \
    }
PANOMNI_FOR_FLOAT_TYPES(CE_ENTRIES)
