// RMSNorm and LayerNorm, forward and backward: the CUDA side of dev.panomni.tensor.ops.NormKernels
// (CPU twin: tensor/.../cpu/CpuNormKernels.java).
//
// A group of g threads (power of two, 1..1024) owns a row of D elements; a block holds
// blockDim / g groups. When the row is a whole number of 16-byte vectors (nvec = D / Vec<T>::N of
// them) and nvec <= CACHE_VECS * g, each lane keeps its CACHE_VECS vectors in registers: one read
// of every input and one write of every output, statistics in fp32. Longer or unaligned rows take
// the "loose" path, element by element, re-reading the row from cache.
//
// Backward weight (and bias) gradients: block b accumulates its rows in registers and writes one
// F32 partial row [D] (its groups summed in group order); norm_reduce_partials then adds the
// partials in block order. The number of blocks is a function of the shapes only, so the sums are
// the same bits on every run: no atomics.
#include "vec.cuh"

#define CACHE_VECS 4

struct RowGroup {
    int g;          // lanes per row
    int lane;       // this thread's lane in its group
    int group;      // this thread's group in the block
    int groups;     // groups per block
};

__device__ __forceinline__ RowGroup row_group(int g) {
    RowGroup r;
    r.g = g;
    r.lane = threadIdx.x % g;
    r.group = threadIdx.x / g;
    r.groups = blockDim.x / g;
    return r;
}

// ------------------------------------------------------------------------------------ RMSNorm

template <typename T>
__device__ void rmsnorm_forward(const T* x, const T* w, float eps, T* y, float* rstd, long long rows, int d, int g,
                                int cached) {
    __shared__ float scratch[32];
    constexpr int N = Vec<T>::N;
    RowGroup rg = row_group(g);
    long long row = (long long)blockIdx.x * rg.groups + rg.group;
    bool live = row < rows;
    const T* xr = x + (live ? row : 0) * d;
    T* yr = y + (live ? row : 0) * d;
    if (cached) {
        int nvec = d / N;
        float xv[CACHE_VECS][N];
        float ss = 0.0f;
#pragma unroll
        for (int k = 0; k < CACHE_VECS; k++) {
            int v = rg.lane + k * g;
            if (live && v < nvec) {
                load_vec(xr + v * N, xv[k]);
#pragma unroll
                for (int i = 0; i < N; i++) ss = fmaf(xv[k][i], xv[k][i], ss);
            }
        }
        ss = group_sum(ss, g, scratch);
        if (!live) return;
        float inv = (float)(1.0 / sqrt((double)(ss / (float)d) + (double)eps));
        if (rstd != nullptr && rg.lane == 0) rstd[row] = inv;
#pragma unroll
        for (int k = 0; k < CACHE_VECS; k++) {
            int v = rg.lane + k * g;
            if (v < nvec) {
                float wv[N];
                load_vec(w + v * N, wv);
#pragma unroll
                for (int i = 0; i < N; i++) xv[k][i] = xv[k][i] * inv * wv[i];
                store_vec(yr + v * N, xv[k]);
            }
        }
    } else {
        float ss = 0.0f;
        if (live) {
            for (int k = rg.lane; k < d; k += g) {
                float e = to_f(xr[k]);
                ss = fmaf(e, e, ss);
            }
        }
        ss = group_sum(ss, g, scratch);
        if (!live) return;
        float inv = (float)(1.0 / sqrt((double)(ss / (float)d) + (double)eps));
        if (rstd != nullptr && rg.lane == 0) rstd[row] = inv;
        for (int k = rg.lane; k < d; k += g) yr[k] = from_f<T>(to_f(xr[k]) * inv * to_f(w[k]));
    }
}

// Writes this block's weight-gradient partial: the groups' register accumulators acc[k][i] (column
// (lane + k * g) * N + i) summed in group order. red: blockDim.x * N floats of shared memory.
template <int N>
__device__ __forceinline__ void write_partial_cached(const RowGroup& rg, float (*acc)[N], int nvec, float* red,
                                                     float* partial_row) {
    int width = rg.g * N;   // columns one k-slice covers
    if (rg.groups == 1) {
#pragma unroll
        for (int k = 0; k < CACHE_VECS; k++) {
            int v = rg.lane + k * rg.g;
            if (v < nvec) {
#pragma unroll
                for (int i = 0; i < N; i++) partial_row[(long long)v * N + i] = acc[k][i];
            }
        }
        return;
    }
    // Several groups per block: the launcher uses blockDim.x == 128 then, which red is sized for.
#pragma unroll
    for (int k = 0; k < CACHE_VECS; k++) {
        __syncthreads();
#pragma unroll
        for (int i = 0; i < N; i++) red[rg.group * width + rg.lane * N + i] = acc[k][i];
        __syncthreads();
        for (int c = threadIdx.x; c < width; c += blockDim.x) {
            long long col = (long long)k * width + c;
            if (col < (long long)nvec * N) {
                float t = 0.0f;
                for (int q = 0; q < rg.groups; q++) t += red[q * width + c];
                partial_row[col] = t;
            }
        }
    }
}

// dx = inv * w * dy - inv^3 / D * x * sum(dy * w * x); partial dweight += dy * x * inv.
// Cached rows keep dy, x and w as packed 16-byte vectors (unpacked where used) so that the kernel
// fits 128 registers (__launch_bounds__(256, 2) on the entries): with D = 4096 bf16 that is four
// 128-thread blocks an SM, so all partialBlocks (512) blocks are resident in one wave on an H100.
template <typename T>
__device__ void rmsnorm_backward(const T* dy, const T* x, const T* w, const float* rstd, T* dx, float* partial,
                                 long long rows, int d, int g, int cached) {
    __shared__ float scratch[32];
    __shared__ float red[128 * Vec<T>::N];
    constexpr int N = Vec<T>::N;
    RowGroup rg = row_group(g);
    bool want_dw = partial != nullptr;
    long long stride = (long long)gridDim.x * rg.groups;
    if (cached) {
        int nvec = d / N;
        uint4 wr[CACHE_VECS];
        float acc[CACHE_VECS][N];
#pragma unroll
        for (int k = 0; k < CACHE_VECS; k++) {
            int v = rg.lane + k * g;
#pragma unroll
            for (int i = 0; i < N; i++) acc[k][i] = 0.0f;
            if (v < nvec) wr[k] = load_raw(w + v * N);
        }
        for (long long base = (long long)blockIdx.x * rg.groups; base < rows; base += stride) {
            long long row = base + rg.group;
            bool live = row < rows;
            uint4 gr[CACHE_VECS], xr[CACHE_VECS];
            // All loads of the row first, then the arithmetic.
#pragma unroll
            for (int k = 0; k < CACHE_VECS; k++) {
                int v = rg.lane + k * g;
                if (live && v < nvec) {
                    gr[k] = load_raw(dy + row * d + v * N);
                    xr[k] = load_raw(x + row * d + v * N);
                }
            }
            float inv = live ? rstd[row] : 0.0f;
            float dot = 0.0f;
#pragma unroll
            for (int k = 0; k < CACHE_VECS; k++) {
                int v = rg.lane + k * g;
                if (live && v < nvec) {
#pragma unroll
                    for (int i = 0; i < N; i++) {
                        dot = fmaf(raw_elem<T>(gr[k], i) * raw_elem<T>(wr[k], i), raw_elem<T>(xr[k], i), dot);
                    }
                }
            }
            if (dx != nullptr) {
                dot = group_sum(dot, g, scratch);
                float c = inv * inv * inv * dot / (float)d;
#pragma unroll
                for (int k = 0; k < CACHE_VECS; k++) {
                    int v = rg.lane + k * g;
                    if (live && v < nvec) {
                        float o[N];
#pragma unroll
                        for (int i = 0; i < N; i++) {
                            o[i] = raw_elem<T>(gr[k], i) * raw_elem<T>(wr[k], i) * inv - raw_elem<T>(xr[k], i) * c;
                        }
                        store_vec(dx + row * d + v * N, o);
                    }
                }
            }
            if (want_dw && live) {
#pragma unroll
                for (int k = 0; k < CACHE_VECS; k++) {
                    int v = rg.lane + k * g;
                    if (v < nvec) {
#pragma unroll
                        for (int i = 0; i < N; i++) acc[k][i] += raw_elem<T>(gr[k], i) * raw_elem<T>(xr[k], i) * inv;
                    }
                }
            }
        }
        if (want_dw) write_partial_cached<N>(rg, acc, nvec, red, partial + (long long)blockIdx.x * d);
    } else {
        // Loose rows: one group per block (g == blockDim.x); the block's weight-gradient partial
        // lives in its partial row, which only this block touches.
        float* prow = want_dw ? partial + (long long)blockIdx.x * d : nullptr;
        if (want_dw) {
            for (int k = threadIdx.x; k < d; k += blockDim.x) prow[k] = 0.0f;
        }
        for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
            const T* gr = dy + row * d;
            const T* xr = x + row * d;
            float inv = rstd[row];
            if (dx != nullptr) {
                float dot = 0.0f;
                for (int k = threadIdx.x; k < d; k += blockDim.x) dot = fmaf(to_f(gr[k]) * to_f(w[k]), to_f(xr[k]), dot);
                dot = group_sum(dot, blockDim.x, scratch);
                float c = inv * inv * inv * dot / (float)d;
                for (int k = threadIdx.x; k < d; k += blockDim.x) {
                    dx[row * d + k] = from_f<T>(to_f(gr[k]) * to_f(w[k]) * inv - to_f(xr[k]) * c);
                }
            }
            if (want_dw) {
                for (int k = threadIdx.x; k < d; k += blockDim.x) prow[k] += to_f(gr[k]) * to_f(xr[k]) * inv;
            }
        }
    }
}

// ------------------------------------------------------------------------------------ LayerNorm

template <typename T>
__device__ void layernorm_forward(const T* x, const T* w, const T* b, float eps, T* y, float* mean, float* rstd,
                                  long long rows, int d, int g, int cached) {
    __shared__ float scratch[32];
    constexpr int N = Vec<T>::N;
    RowGroup rg = row_group(g);
    long long row = (long long)blockIdx.x * rg.groups + rg.group;
    bool live = row < rows;
    const T* xr = x + (live ? row : 0) * d;
    T* yr = y + (live ? row : 0) * d;
    if (cached) {
        int nvec = d / N;
        float xv[CACHE_VECS][N];
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < CACHE_VECS; k++) {
            int v = rg.lane + k * g;
            if (live && v < nvec) {
                load_vec(xr + v * N, xv[k]);
#pragma unroll
                for (int i = 0; i < N; i++) s += xv[k][i];
            }
        }
        float mu = group_sum(s, g, scratch) / (float)d;
        // Two passes over the cached row: the variance of centered values does not cancel.
        float q = 0.0f;
#pragma unroll
        for (int k = 0; k < CACHE_VECS; k++) {
            int v = rg.lane + k * g;
            if (live && v < nvec) {
#pragma unroll
                for (int i = 0; i < N; i++) {
                    float c = xv[k][i] - mu;
                    q = fmaf(c, c, q);
                }
            }
        }
        float var = group_sum(q, g, scratch) / (float)d;
        if (!live) return;
        float inv = (float)(1.0 / sqrt((double)var + (double)eps));
        if (rg.lane == 0) {
            if (mean != nullptr) mean[row] = mu;
            if (rstd != nullptr) rstd[row] = inv;
        }
#pragma unroll
        for (int k = 0; k < CACHE_VECS; k++) {
            int v = rg.lane + k * g;
            if (v < nvec) {
                float wv[N], bv[N];
                load_vec(w + v * N, wv);
                if (b != nullptr) load_vec(b + v * N, bv);
#pragma unroll
                for (int i = 0; i < N; i++) {
                    float o = (xv[k][i] - mu) * inv * wv[i];
                    xv[k][i] = b != nullptr ? o + bv[i] : o;
                }
                store_vec(yr + v * N, xv[k]);
            }
        }
    } else {
        float s = 0.0f;
        if (live) {
            for (int k = rg.lane; k < d; k += g) s += to_f(xr[k]);
        }
        float mu = group_sum(s, g, scratch) / (float)d;
        float q = 0.0f;
        if (live) {
            for (int k = rg.lane; k < d; k += g) {
                float c = to_f(xr[k]) - mu;
                q = fmaf(c, c, q);
            }
        }
        float var = group_sum(q, g, scratch) / (float)d;
        if (!live) return;
        float inv = (float)(1.0 / sqrt((double)var + (double)eps));
        if (rg.lane == 0) {
            if (mean != nullptr) mean[row] = mu;
            if (rstd != nullptr) rstd[row] = inv;
        }
        for (int k = rg.lane; k < d; k += g) {
            float o = (to_f(xr[k]) - mu) * inv * to_f(w[k]);
            yr[k] = from_f<T>(b != nullptr ? o + to_f(b[k]) : o);
        }
    }
}

// With xh = (x - mu) * inv and gw = dy * w: dx = inv * (gw - mean(gw) - xh * mean(gw * xh));
// partial dweight += dy * xh, partial dbias += dy.
template <typename T>
__device__ void layernorm_backward(const T* dy, const T* x, const T* w, const float* mean, const float* rstd, T* dx,
                                   float* partial_w, float* partial_b, long long rows, int d, int g, int cached) {
    __shared__ float scratch[32];
    __shared__ float red[128 * Vec<T>::N];
    constexpr int N = Vec<T>::N;
    RowGroup rg = row_group(g);
    bool want_w = partial_w != nullptr;
    bool want_b = partial_b != nullptr;
    long long stride = (long long)gridDim.x * rg.groups;
    if (cached) {
        int nvec = d / N;
        float wv[CACHE_VECS][N], accw[CACHE_VECS][N], accb[CACHE_VECS][N];
#pragma unroll
        for (int k = 0; k < CACHE_VECS; k++) {
            int v = rg.lane + k * g;
#pragma unroll
            for (int i = 0; i < N; i++) {
                accw[k][i] = 0.0f;
                accb[k][i] = 0.0f;
            }
            if (v < nvec) load_vec(w + v * N, wv[k]);
        }
        for (long long base = (long long)blockIdx.x * rg.groups; base < rows; base += stride) {
            long long row = base + rg.group;
            bool live = row < rows;
            float gv[CACHE_VECS][N], xh[CACHE_VECS][N];
            float mu = live ? mean[row] : 0.0f;
            float inv = live ? rstd[row] : 0.0f;
            float sg = 0.0f, sgx = 0.0f;
#pragma unroll
            for (int k = 0; k < CACHE_VECS; k++) {
                int v = rg.lane + k * g;
                if (live && v < nvec) {
                    load_vec(dy + row * d + v * N, gv[k]);
                    load_vec(x + row * d + v * N, xh[k]);
#pragma unroll
                    for (int i = 0; i < N; i++) {
                        xh[k][i] = (xh[k][i] - mu) * inv;
                        float gw = gv[k][i] * wv[k][i];
                        sg += gw;
                        sgx = fmaf(gw, xh[k][i], sgx);
                    }
                }
            }
            if (dx != nullptr) {
                float mean_g = group_sum(sg, g, scratch) / (float)d;
                float mean_gx = group_sum(sgx, g, scratch) / (float)d;
#pragma unroll
                for (int k = 0; k < CACHE_VECS; k++) {
                    int v = rg.lane + k * g;
                    if (live && v < nvec) {
                        float o[N];
#pragma unroll
                        for (int i = 0; i < N; i++) o[i] = (gv[k][i] * wv[k][i] - mean_g - xh[k][i] * mean_gx) * inv;
                        store_vec(dx + row * d + v * N, o);
                    }
                }
            }
            if (live) {
#pragma unroll
                for (int k = 0; k < CACHE_VECS; k++) {
                    int v = rg.lane + k * g;
                    if (v < nvec) {
#pragma unroll
                        for (int i = 0; i < N; i++) {
                            accw[k][i] = fmaf(gv[k][i], xh[k][i], accw[k][i]);
                            accb[k][i] += gv[k][i];
                        }
                    }
                }
            }
        }
        if (want_w) write_partial_cached<N>(rg, accw, nvec, red, partial_w + (long long)blockIdx.x * d);
        if (want_b) write_partial_cached<N>(rg, accb, nvec, red, partial_b + (long long)blockIdx.x * d);
    } else {
        float* pw = want_w ? partial_w + (long long)blockIdx.x * d : nullptr;
        float* pb = want_b ? partial_b + (long long)blockIdx.x * d : nullptr;
        for (int k = threadIdx.x; k < d; k += blockDim.x) {
            if (want_w) pw[k] = 0.0f;
            if (want_b) pb[k] = 0.0f;
        }
        for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
            const T* gr = dy + row * d;
            const T* xr = x + row * d;
            float mu = mean[row];
            float inv = rstd[row];
            if (dx != nullptr) {
                float sg = 0.0f, sgx = 0.0f;
                for (int k = threadIdx.x; k < d; k += blockDim.x) {
                    float gw = to_f(gr[k]) * to_f(w[k]);
                    sg += gw;
                    sgx = fmaf(gw, (to_f(xr[k]) - mu) * inv, sgx);
                }
                float mean_g = group_sum(sg, blockDim.x, scratch) / (float)d;
                float mean_gx = group_sum(sgx, blockDim.x, scratch) / (float)d;
                for (int k = threadIdx.x; k < d; k += blockDim.x) {
                    float xhk = (to_f(xr[k]) - mu) * inv;
                    dx[row * d + k] = from_f<T>((to_f(gr[k]) * to_f(w[k]) - mean_g - xhk * mean_gx) * inv);
                }
            }
            for (int k = threadIdx.x; k < d; k += blockDim.x) {
                float gk = to_f(gr[k]);
                if (want_w) pw[k] = fmaf(gk, (to_f(xr[k]) - mu) * inv, pw[k]);
                if (want_b) pb[k] += gk;
            }
        }
    }
}

// out[c] = sum over p < parts of partial[p, c], in p order within 32 interleaved lanes and then
// lane order: a fixed tree. Block (32, 32); grid.x = ceil(d / 32).
extern "C" __global__ void norm_reduce_partials(const float* partial, int parts, int d, float* out) {
    __shared__ float sums[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float t = 0.0f;
    if (c < d) {
        for (int p = threadIdx.y; p < parts; p += 32) t += partial[(long long)p * d + c];
    }
    sums[threadIdx.y][threadIdx.x] = t;
    __syncthreads();
    if (threadIdx.y == 0 && c < d) {
        float s = 0.0f;
        for (int q = 0; q < 32; q++) s += sums[q][threadIdx.x];
        out[c] = s;
    }
}

#define NORM_ENTRIES(SUF, T)                                                                                \
    extern "C" __global__ void rmsnorm_forward_##SUF(const T* x, const T* w, float eps, T* y, float* rstd,  \
                                                     long long rows, int d, int g, int cached) {            \
        rmsnorm_forward<T>(x, w, eps, y, rstd, rows, d, g, cached);                                         \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(256, 2) rmsnorm_backward_##SUF(const T* dy, const T* x, const T* w, const float* rstd, \
                                                      T* dx, float* partial, long long rows, int d, int g,  \
                                                      int cached) {                                         \
        rmsnorm_backward<T>(dy, x, w, rstd, dx, partial, rows, d, g, cached);                               \
    }                                                                                                       \
    extern "C" __global__ void layernorm_forward_##SUF(const T* x, const T* w, const T* b, float eps, T* y,  \
                                                       float* mean, float* rstd, long long rows, int d,     \
                                                       int g, int cached) {                                 \
        layernorm_forward<T>(x, w, b, eps, y, mean, rstd, rows, d, g, cached);                              \
    }                                                                                                       \
    extern "C" __global__ void layernorm_backward_##SUF(const T* dy, const T* x, const T* w,                 \
                                                        const float* mean, const float* rstd, T* dx,        \
                                                        float* partial_w, float* partial_b, long long rows, \
                                                        int d, int g, int cached) {                         \
        layernorm_backward<T>(dy, x, w, mean, rstd, dx, partial_w, partial_b, rows, d, g, cached);          \
    }
PANOMNI_FOR_FLOAT_TYPES(NORM_ENTRIES)
