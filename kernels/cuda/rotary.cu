// Rotary position embedding (rotate-half layout): the CUDA side of dev.panomni.tensor.ops.RotaryKernels
// (CPU twin: tensor/.../cpu/CpuRotaryKernels.java).
//
// One block per token: each thread takes a frequency index i < D/2, computes the angle
// positions[n] * invFreq[i] as an fp32 product (as on the CPU) and its cosine and sine in double
// (the CPU rounds Math.cos/Math.sin of the same float), then rotates that pair in every head it is
// given. out may alias x: each pair is read and written by one thread.
#include "vec.cuh"

template <typename T>
__device__ void rope(const T* x, const void* positions, int pos_i64, const float* inv_freq, int inverse, T* out,
                     long long tokens, int heads, int d) {
    int half = d / 2;
    long long n = blockIdx.x;
    if (n >= tokens) return;
    long long p = pos_i64 ? ((const long long*)positions)[n] : (long long)((const int*)positions)[n];
    float pf = (float)p;
    int lanes_per_head = half < (int)blockDim.x ? half : (int)blockDim.x;
    int head_step = blockDim.x / lanes_per_head;
    int first_head = threadIdx.x / lanes_per_head;
    if (first_head >= head_step) return;   // threads past the last whole head slot
    for (int i = threadIdx.x % lanes_per_head; i < half; i += lanes_per_head) {
        float a = pf * inv_freq[i];
        double sd, cd;
        sincos((double)a, &sd, &cd);
        float c = (float)cd;
        float s = (float)sd;
        if (inverse) s = -s;
        for (int h = first_head; h < heads; h += head_step) {
            long long base = (n * heads + h) * (long long)d;
            float x1 = to_f(x[base + i]);
            float x2 = to_f(x[base + i + half]);
            out[base + i] = from_f<T>(x1 * c - x2 * s);
            out[base + i + half] = from_f<T>(x2 * c + x1 * s);
        }
    }
}

#define ROPE_ENTRIES(SUF, T)                                                                                \
    extern "C" __global__ void rope_##SUF(const T* x, const void* positions, int pos_i64,                  \
                                          const float* inv_freq, int inverse, T* out, long long tokens,     \
                                          int heads, int d) {                                               \
        rope<T>(x, positions, pos_i64, inv_freq, inverse, out, tokens, heads, d);                           \
    }
PANOMNI_FOR_FLOAT_TYPES(ROPE_ENTRIES)
