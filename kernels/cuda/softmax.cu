// Softmax and log-softmax over the last dim, forward and backward: the CUDA side of
// dev.panomni.tensor.ops.SoftmaxKernels (CPU twin: tensor/.../cpu/CpuSoftmaxKernels.java).
//
// Layout of the work: a group of g threads (a power of two, 1..1024, chosen by the launcher from
// the row length) owns one row; a block of blockDim threads holds blockDim / g groups. The forward
// reads a row twice (online max and sum, then the output; the second read mostly hits L2) and
// writes it once. Rows whose byte length is a multiple of 16 (and 16-byte aligned tensors) use
// 16-byte accesses; the rest go element by element.
#include "vec.cuh"

template <typename T>
__device__ void softmax_forward(const T* x, T* y, long long rows, long long n, int g, int log_mode) {
    __shared__ float2 scratch2[32];
    __shared__ float scratch[32];
    constexpr int N = Vec<T>::N;
    int groups = blockDim.x / g;
    int lane = threadIdx.x % g;
    long long row = (long long)blockIdx.x * groups + threadIdx.x / g;
    bool live = row < rows;
    bool vec = aligned16(x) && aligned16(y) && (n % N == 0);
    const T* xr = x + (live ? row : 0) * n;
    T* yr = y + (live ? row : 0) * n;
    float m = -INFINITY, s = 0.0f;
    if (live) {
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
    (void)scratch;
    if (!live) return;
    float log_sum = logf(s);
    float inv = 1.0f / s;
    if (vec) {
        for (long long v = lane; v < n / N; v += g) {
            float e[N];
            load_vec(xr + v * N, e);
#pragma unroll
            for (int i = 0; i < N; i++) e[i] = log_mode ? (e[i] - m) - log_sum : expf(e[i] - m) * inv;
            store_vec(yr + v * N, e);
        }
    } else {
        for (long long k = lane; k < n; k += g) {
            float e = to_f(xr[k]);
            yr[k] = from_f<T>(log_mode ? (e - m) - log_sum : expf(e - m) * inv);
        }
    }
}

// softmax: gi = y * (g - sum(g * y)); log-softmax: gi = g - exp(y) * sum(g). gi may alias go.
template <typename T>
__device__ void softmax_backward(const T* y, const T* go, T* gi, long long rows, long long n, int g, int log_mode) {
    __shared__ float scratch[32];
    constexpr int N = Vec<T>::N;
    int groups = blockDim.x / g;
    int lane = threadIdx.x % g;
    long long row = (long long)blockIdx.x * groups + threadIdx.x / g;
    bool live = row < rows;
    bool vec = aligned16(y) && aligned16(go) && aligned16(gi) && (n % N == 0);
    const T* yr = y + (live ? row : 0) * n;
    const T* gr = go + (live ? row : 0) * n;
    T* ir = gi + (live ? row : 0) * n;
    float acc = 0.0f;
    if (live) {
        if (vec) {
            for (long long v = lane; v < n / N; v += g) {
                float a[N], b[N];
                load_vec_keep(gr + v * N, a);
                if (!log_mode) load_vec_keep(yr + v * N, b);
#pragma unroll
                for (int i = 0; i < N; i++) acc += log_mode ? a[i] : a[i] * b[i];
            }
        } else {
            for (long long k = lane; k < n; k += g) acc += log_mode ? to_f(gr[k]) : to_f(gr[k]) * to_f(yr[k]);
        }
    }
    float total = group_sum(acc, g, scratch);
    if (!live) return;
    if (vec) {
        for (long long v = lane; v < n / N; v += g) {
            float a[N], b[N];
            load_vec(gr + v * N, a);
            load_vec(yr + v * N, b);
#pragma unroll
            for (int i = 0; i < N; i++) a[i] = log_mode ? a[i] - expf(b[i]) * total : (a[i] - total) * b[i];
            store_vec(ir + v * N, a);
        }
    } else {
        for (long long k = lane; k < n; k += g) {
            float a = to_f(gr[k]);
            float b = to_f(yr[k]);
            ir[k] = from_f<T>(log_mode ? a - expf(b) * total : (a - total) * b);
        }
    }
}

#define SOFTMAX_ENTRIES(SUF, T)                                                                            \
    extern "C" __global__ void softmax_forward_##SUF(const T* x, T* y, long long rows, long long n, int g, \
                                                     int log_mode) {                                       \
        softmax_forward<T>(x, y, rows, n, g, log_mode);                                                    \
    }                                                                                                      \
    extern "C" __global__ void softmax_backward_##SUF(const T* y, const T* go, T* gi, long long rows,      \
                                                      long long n, int g, int log_mode) {                  \
        softmax_backward<T>(y, go, gi, rows, n, g, log_mode);                                              \
    }
PANOMNI_FOR_FLOAT_TYPES(SOFTMAX_ENTRIES)
