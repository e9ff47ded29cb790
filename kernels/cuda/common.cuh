// Shared device helpers for Panomni's kernels: dtype codes (the ordinals of dev.panomni.tensor.DType),
// element loads/stores of any dtype, and the strided-tensor descriptor passed by value.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#define PANOMNI_MAX_RANK 8

// DType ordinals: F32, F16, BF16, I32, I64, U8, BOOL.
enum : int { DT_F32 = 0, DT_F16 = 1, DT_BF16 = 2, DT_I32 = 3, DT_I64 = 4, DT_U8 = 5, DT_BOOL = 6 };

// Shape and element strides of one operand; passed by value (kernel parameter space, 136 bytes).
struct Strided {
    int rank;
    int pad;
    long long shape[PANOMNI_MAX_RANK];
    long long stride[PANOMNI_MAX_RANK];
};

// Element offset of row-major linear index i within an operand.
__device__ __forceinline__ long long strided_offset(const Strided& d, long long i) {
    long long off = 0;
#pragma unroll
    for (int k = PANOMNI_MAX_RANK - 1; k >= 0; k--) {
        if (k < d.rank) {
            long long ext = d.shape[k];
            long long idx = i % ext;
            i /= ext;
            off += idx * d.stride[k];
        }
    }
    return off;
}

__device__ __forceinline__ float load_f(const void* p, int dt, long long i) {
    switch (dt) {
        case DT_F32: return ((const float*)p)[i];
        case DT_F16: return __half2float(((const __half*)p)[i]);
        case DT_BF16: return __bfloat162float(((const __nv_bfloat16*)p)[i]);
        case DT_I32: return (float)((const int*)p)[i];
        case DT_I64: return (float)((const long long*)p)[i];
        default: return (float)((const unsigned char*)p)[i];
    }
}

__device__ __forceinline__ long long load_l(const void* p, int dt, long long i) {
    switch (dt) {
        case DT_I32: return ((const int*)p)[i];
        case DT_I64: return ((const long long*)p)[i];
        case DT_U8: case DT_BOOL: return ((const unsigned char*)p)[i];
        default: return (long long)load_f(p, dt, i);
    }
}

__device__ __forceinline__ void store_f(void* p, int dt, long long i, float v) {
    switch (dt) {
        case DT_F32: ((float*)p)[i] = v; break;
        case DT_F16: ((__half*)p)[i] = __float2half_rn(v); break;
        case DT_BF16: ((__nv_bfloat16*)p)[i] = __float2bfloat16_rn(v); break;
        case DT_I32: ((int*)p)[i] = (int)v; break;
        case DT_I64: ((long long*)p)[i] = (long long)v; break;
        case DT_U8: ((unsigned char*)p)[i] = (unsigned char)(int)v; break;
        default: ((unsigned char*)p)[i] = v != 0.0f ? 1 : 0; break;
    }
}

__device__ __forceinline__ void store_l(void* p, int dt, long long i, long long v) {
    switch (dt) {
        case DT_I32: ((int*)p)[i] = (int)v; break;
        case DT_I64: ((long long*)p)[i] = v; break;
        case DT_U8: ((unsigned char*)p)[i] = (unsigned char)v; break;
        case DT_BOOL: ((unsigned char*)p)[i] = v != 0 ? 1 : 0; break;
        default: store_f(p, dt, i, (float)v); break;
    }
}

__device__ __forceinline__ bool is_float(int dt) { return dt <= DT_BF16; }

#define GRID_STRIDE_LOOP(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)blockDim.x * gridDim.x)
