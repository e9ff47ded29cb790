// Cross-entropy over rows of logits: the CUDA side of dev.panomni.tensor.ops.LossKernels (CPU twin:
// tensor/.../cpu/CpuLossKernels.java). A group of g threads owns a row (as in softmax.cu); the
// row's maximum and sum of exponentials come from one online pass, the gradient from a second pass
// over the row (an L2 hit for rows read with the evict-last hint), so the fused kernel moves about
// one read and one write of the logits through device memory.
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

// Per row: online max and sum of exp over the row; xt = the target logit (0 when ignored).
template <typename T>
__device__ __forceinline__ void row_stats(const T* xr, long long n, int g, int lane, bool live, long long t,
                                          bool ignored, float& m, float& s, float& xt, float2* scratch2,
                                          float* scratch, bool vec) {
    constexpr int N = Vec<T>::N;
    m = -INFINITY;
    s = 0.0f;
    float mine = 0.0f;
    if (live) {
        if (lane == 0 && !ignored) mine = to_f(xr[t]);
        if (vec) {
            for (long long v = lane; v < n / N; v += g) {
                float e[N];
                load_vec_keep(xr + v * N, e);
                float vm = e[0];
#pragma unroll
                for (int i = 1; i < N; i++) vm = fmaxf(vm, e[i]);
                float mn = fmaxf(m, vm);
                if (mn != -INFINITY) {
                    float acc = 0.0f;
#pragma unroll
                    for (int i = 0; i < N; i++) acc += expf(e[i] - mn);
                    s = s * expf(m - mn) + acc;
                    m = mn;
                }
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
    group_max_sum(m, s, g, scratch2);
    // The target logit travels through a reduction: every lane holds it, and the read has completed
    // before any lane of the row overwrites the row in place.
    xt = group_sum(mine, g, scratch);
}

template <typename T>
__device__ void ce_forward(const T* logits, const void* targets, int i64, long long rows, long long n,
                           long long ignore, float* row_loss, float* row_lse, int g) {
    __shared__ float2 scratch2[32];
    __shared__ float scratch[32];
    int groups = blockDim.x / g;
    int lane = threadIdx.x % g;
    long long row = (long long)blockIdx.x * groups + threadIdx.x / g;
    bool live = row < rows;
    long long t = live ? target_at(targets, i64, row) : ignore;
    bool ignored = t == ignore;
    const T* xr = logits + (live ? row : 0) * n;
    bool vec = aligned16(logits) && (n % Vec<T>::N == 0);
    float m, s, xt;
    row_stats(xr, n, g, lane, live, t, ignored, m, s, xt, scratch2, scratch, vec);
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

// Loss and gradient in one kernel: grad = (softmax(x) - onehot(t)) * grad_scale. grad may alias logits.
template <typename T>
__device__ void ce_fused(const T* logits, const void* targets, int i64, long long rows, long long n, long long ignore,
                         double grad_scale, float* row_loss, T* grad, int g) {
    __shared__ float2 scratch2[32];
    __shared__ float scratch[32];
    constexpr int N = Vec<T>::N;
    int groups = blockDim.x / g;
    int lane = threadIdx.x % g;
    long long row = (long long)blockIdx.x * groups + threadIdx.x / g;
    bool live = row < rows;
    long long t = live ? target_at(targets, i64, row) : ignore;
    bool ignored = t == ignore;
    const T* xr = logits + (live ? row : 0) * n;
    T* gr = grad + (live ? row : 0) * n;
    bool vec = aligned16(logits) && aligned16(grad) && (n % N == 0);
    float m, s, xt;
    // Ignored rows skip the statistics (their loss and gradient are zero).
    row_stats(xr, n, g, lane, live && !ignored, t, ignored, m, s, xt, scratch2, scratch, vec);
    if (!live) return;
    if (lane == 0) row_loss[row] = ignored ? 0.0f : (m - xt) + logf(s);
    float coef = (float)grad_scale;
    float k = ignored ? 0.0f : (float)(grad_scale / (double)s);
    if (vec) {
        for (long long v = lane; v < n / N; v += g) {
            float e[N];
            if (ignored) {
#pragma unroll
                for (int i = 0; i < N; i++) e[i] = 0.0f;
            } else {
                load_vec(xr + v * N, e);
#pragma unroll
                for (int i = 0; i < N; i++) {
                    float p = expf(e[i] - m) * k;
                    e[i] = (v * N + i == t) ? p - coef : p;
                }
            }
            store_vec(gr + v * N, e);
        }
    } else {
        for (long long q = lane; q < n; q += g) {
            float p = ignored ? 0.0f : expf(to_f(xr[q]) - m) * k;
            gr[q] = from_f<T>(!ignored && q == t ? p - coef : p);
        }
    }
}

#define CE_ENTRIES(SUF, T)                                                                                 \
    extern "C" __global__ void ce_forward_##SUF(const T* logits, const void* targets, int i64,            \
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
    extern "C" __global__ void ce_fused_##SUF(const T* logits, const void* targets, int i64,              \
                                              long long rows, long long n, long long ignore,               \
                                              double grad_scale, float* row_loss, T* grad, int g) {        \
        ce_fused<T>(logits, targets, i64, rows, n, ignore, grad_scale, row_loss, grad, g);                 \
    }
PANOMNI_FOR_FLOAT_TYPES(CE_ENTRIES)
