// Elementwise math and its derivatives: the CUDA side of dev.panomni.tensor.ops.UnaryKernels
// (CPU twin: tensor/.../cpu/CpuUnaryKernels.java). fp32 math in registers, 16-byte accesses.
#include "vec.cuh"

// UnaryKernels.UnaryOp ordinals.
enum : int {
    U_EXP = 0, U_LOG, U_SQRT, U_RSQRT, U_TANH, U_SIGMOID, U_SILU, U_GELU_TANH, U_GELU_ERF, U_SQUARE, U_POW, U_ABS
};

#define GELU_K 0.7978845608028654f   // sqrt(2 / pi)
#define GELU_C 0.044715f
#define INV_SQRT_2PI 0.3989422804014327f

// x^p as |x|^p with Math.pow's sign rules: NaN for a negative base and non-integer p, negated for
// odd integer p.
__device__ __forceinline__ float signed_pow(float x, float p) {
    float r = powf(fabsf(x), p);
    if (x < 0.0f) {
        if (p != rintf(p)) return __int_as_float(0x7fc00000);
        if (fmodf(fabsf(p), 2.0f) == 1.0f) return -r;
    }
    return r;
}

__device__ __forceinline__ float pow_forward(float x, float p) {
    if (p == 2.0f) return x * x;
    if (p == 1.0f) return x;
    if (p == 0.0f) return 1.0f;
    if (p == 0.5f) return sqrtf(x);
    if (p == -0.5f) return 1.0f / sqrtf(x);
    if (p == -1.0f) return 1.0f / x;
    return signed_pow(x, p);
}

__device__ __forceinline__ float unary_f(int op, float x, float p) {
    switch (op) {
        case U_EXP: return expf(x);
        case U_LOG: return logf(x);
        case U_SQRT: return sqrtf(x);
        case U_RSQRT: return 1.0f / sqrtf(x);
        case U_TANH: return tanhf(x);
        case U_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case U_SILU: return x / (1.0f + expf(-x));
        case U_GELU_TANH: {
            float u = fmaf(x * x, x * GELU_C, x) * GELU_K;
            return x * 0.5f * (tanhf(u) + 1.0f);
        }
        case U_GELU_ERF: return x * normcdff(x);
        case U_SQUARE: return x * x;
        case U_POW: return pow_forward(x, p);
        default: return fabsf(x);
    }
}

// d op / dx times g, from s = y (ops whose backward reads the output) or s = x.
__device__ __forceinline__ float unary_b(int op, float s, float g, float p) {
    switch (op) {
        case U_EXP: return g * s;
        case U_LOG: return g / s;
        case U_SQRT: return g * 0.5f / s;
        case U_RSQRT: return g * (s * s * s * -0.5f);
        case U_TANH: return g * fmaf(-s, s, 1.0f);
        case U_SIGMOID: return g * ((1.0f - s) * s);
        case U_SILU: {
            float sg = 1.0f / (1.0f + expf(-s));
            return g * (sg * fmaf(1.0f - sg, s, 1.0f));
        }
        case U_GELU_TANH: {
            float x2 = s * s;
            float t = tanhf(fmaf(x2, s * GELU_C, s) * GELU_K);
            float du = (x2 * (3.0f * GELU_C) + 1.0f) * GELU_K;
            return g * fmaf(s * 0.5f * fmaf(-t, t, 1.0f), du, (t + 1.0f) * 0.5f);
        }
        case U_GELU_ERF: {
            float pdf = expf(s * s * -0.5f) * INV_SQRT_2PI;
            return g * fmaf(s, pdf, normcdff(s));
        }
        case U_SQUARE: return g * (s * 2.0f);
        case U_POW: {
            if (p == 0.0f) return 0.0f;
            if (p == 1.0f) return g;
            if (p == 2.0f) return g * (s * 2.0f);
            return g * (signed_pow(s, p - 1.0f) * p);
        }
        default: {
            float sign = s < 0.0f ? -1.0f : (s == 0.0f ? 0.0f : 1.0f);
            if (s != s) sign = s;
            return g * sign;
        }
    }
}

// y = op(x); y may alias x.
template <typename T>
__device__ void unary_forward(int op, float p, const T* x, T* y, long long n) {
    constexpr int N = Vec<T>::N;
    long long start = 0;
    if (aligned16(x) && aligned16(y)) {
        long long nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            float v[N];
            load_vec(x + i * N, v);
#pragma unroll
            for (int e = 0; e < N; e++) v[e] = unary_f(op, v[e], p);
            store_vec(y + i * N, v);
        }
        start = nv * N;
    }
    GRID_STRIDE_LOOP(j, n - start) { y[start + j] = from_f<T>(unary_f(op, to_f(x[start + j]), p)); }
}

// gi = g * op'(s); gi may alias g.
template <typename T>
__device__ void unary_backward(int op, float p, const T* s, const T* g, T* gi, long long n) {
    constexpr int N = Vec<T>::N;
    long long start = 0;
    if (aligned16(s) && aligned16(g) && aligned16(gi)) {
        long long nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            float sv[N], gv[N];
            load_vec(s + i * N, sv);
            load_vec(g + i * N, gv);
#pragma unroll
            for (int e = 0; e < N; e++) gv[e] = unary_b(op, sv[e], gv[e], p);
            store_vec(gi + i * N, gv);
        }
        start = nv * N;
    }
    GRID_STRIDE_LOOP(j, n - start) {
        gi[start + j] = from_f<T>(unary_b(op, to_f(s[start + j]), to_f(g[start + j]), p));
    }
}

#define UNARY_ENTRIES(SUF, T)                                                                              \
    extern "C" __global__ void unary_forward_##SUF(int op, float p, const T* x, T* y, long long n) {     \
        unary_forward<T>(op, p, x, y, n);                                                                  \
    }                                                                                                      \
    extern "C" __global__ void unary_backward_##SUF(int op, float p, const T* s, const T* g, T* gi,      \
                                                    long long n) {                                         \
        unary_backward<T>(op, p, s, g, gi, n);                                                             \
    }
PANOMNI_FOR_FLOAT_TYPES(UNARY_ENTRIES)
