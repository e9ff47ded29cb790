// SwiGLU forward and backward: the CUDA side of dev.panomni.tensor.ops.ActivationKernels
// (CPU twin: tensor/.../cpu/CpuActivationKernels.java). One pass, 16-byte accesses, fp32 math.
#include "vec.cuh"

__device__ __forceinline__ float sigmoid_f(float g) { return 1.0f / (1.0f + expf(-g)); }

// out = silu(gate) * up
template <typename T>
__device__ void swiglu_forward(const T* gate, const T* up, T* out, long long n) {
    constexpr int N = Vec<T>::N;
    long long start = 0;
    if (aligned16(gate) && aligned16(up) && aligned16(out)) {
        long long nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            float g[N], u[N];
            load_vec(gate + i * N, g);
            load_vec(up + i * N, u);
#pragma unroll
            for (int e = 0; e < N; e++) g[e] = g[e] * sigmoid_f(g[e]) * u[e];
            store_vec(out + i * N, g);
        }
        start = nv * N;
    }
    GRID_STRIDE_LOOP(j, n - start) {
        float g = to_f(gate[start + j]);
        out[start + j] = from_f<T>(g * sigmoid_f(g) * to_f(up[start + j]));
    }
}

// dgate = dout * up * silu'(gate), dup = dout * silu(gate); either output may be null.
template <typename T>
__device__ void swiglu_backward(const T* dout, const T* gate, const T* up, T* dgate, T* dup, long long n) {
    constexpr int N = Vec<T>::N;
    long long start = 0;
    bool want_g = dgate != nullptr;
    bool want_u = dup != nullptr;
    if (aligned16(dout) && aligned16(gate) && aligned16(up) && aligned16(dgate) && aligned16(dup)) {
        long long nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            float d[N], g[N], u[N], a[N], b[N];
            load_vec(dout + i * N, d);
            load_vec(gate + i * N, g);
            if (want_g) load_vec(up + i * N, u);
#pragma unroll
            for (int e = 0; e < N; e++) {
                float s = sigmoid_f(g[e]);
                a[e] = want_g ? d[e] * u[e] * (s * (1.0f + g[e] * (1.0f - s))) : 0.0f;
                b[e] = d[e] * (g[e] * s);
            }
            if (want_g) store_vec(dgate + i * N, a);
            if (want_u) store_vec(dup + i * N, b);
        }
        start = nv * N;
    }
    GRID_STRIDE_LOOP(j, n - start) {
        long long k = start + j;
        float d = to_f(dout[k]);
        float g = to_f(gate[k]);
        float s = sigmoid_f(g);
        if (want_g) dgate[k] = from_f<T>(d * to_f(up[k]) * (s * (1.0f + g * (1.0f - s))));
        if (want_u) dup[k] = from_f<T>(d * (g * s));
    }
}

#define SWIGLU_ENTRIES(SUF, T)                                                                             \
    extern "C" __global__ void swiglu_forward_##SUF(const T* gate, const T* up, T* out, long long n) {   \
        swiglu_forward<T>(gate, up, out, n);                                                               \
    }                                                                                                      \
    extern "C" __global__ void swiglu_backward_##SUF(const T* dout, const T* gate, const T* up, T* dgate, \
                                                     T* dup, long long n) {                                \
        swiglu_backward<T>(dout, gate, up, dgate, dup, n);                                                 \
    }
PANOMNI_FOR_FLOAT_TYPES(SWIGLU_ENTRIES)
