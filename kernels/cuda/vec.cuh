// Typed helpers for the fused and memory-bound kernels: element conversion for the three float
// storage types, 16-byte vector loads and stores, and warp / row-group reductions.
// Kernels are templates over the storage type T (float, __nv_bfloat16, __half); each .cu file
// instantiates them as extern "C" entry points named <kernel>_<f32|bf16|f16>, so the Java launcher
// picks the entry by dtype and no kernel branches per element on a dtype code.
#pragma once
#include "common.cuh"

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }

template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ float from_f<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }

// Elements of T in one 16-byte vector.
template <typename T> struct Vec { static constexpr int N = 16 / sizeof(T); };

// Loads 16 bytes at p (16-byte aligned) as Vec<T>::N floats.
template <typename T> __device__ __forceinline__ void load_vec(const T* p, float* out) {
    uint4 raw = *reinterpret_cast<const uint4*>(p);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < Vec<T>::N; i++) out[i] = to_f(e[i]);
}

// 16 bytes at p with an L2 evict-last cache hint: rows that a kernel reads twice (softmax-like
// passes) stay in L2 for the second read. A plain (coherent) load, so it is safe on rows the kernel
// later overwrites in place.
template <typename T> __device__ __forceinline__ uint4 load_raw_keep(const T* p) {
    uint4 raw;
    asm volatile(
        "{\n\t.reg .b64 pol;\n\t"
        "createpolicy.fractional.L2::evict_last.b64 pol, 1.0;\n\t"
        "ld.global.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], pol;\n\t}"
        : "=r"(raw.x), "=r"(raw.y), "=r"(raw.z), "=r"(raw.w) : "l"(p) : "memory");
    return raw;
}

// load_vec with the evict-last hint of load_raw_keep.
template <typename T> __device__ __forceinline__ void load_vec_keep(const T* p, float* out) {
    uint4 raw = load_raw_keep(p);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < Vec<T>::N; i++) out[i] = to_f(e[i]);
}

// Stores Vec<T>::N floats rounded to T as one 16-byte vector at p (16-byte aligned).
template <typename T> __device__ __forceinline__ void store_vec(T* p, const float* in) {
    uint4 raw;
    T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
    for (int i = 0; i < Vec<T>::N; i++) e[i] = from_f<T>(in[i]);
    *reinterpret_cast<uint4*>(p) = raw;
}

// Packed 16-byte vectors, for kernels that keep rows in registers: 16-byte load of Vec<T>::N elements.
template <typename T> __device__ __forceinline__ uint4 load_raw(const T* p) {
    return *reinterpret_cast<const uint4*>(p);
}

// Element i of a 16-byte vector as fp32. The 16-bit conversions are volatile asm on purpose: the
// compiler would otherwise keep a chunk's unpacked fp32 values live between the passes over it
// (twice the registers of the packed chunk, and spills), where re-unpacking costs one instruction.
__device__ __forceinline__ unsigned raw_word(const uint4& raw, int w) {
    return w == 0 ? raw.x : w == 1 ? raw.y : w == 2 ? raw.z : raw.w;
}

template <typename T> __device__ __forceinline__ float raw_elem(const uint4& raw, int i);

template <> __device__ __forceinline__ float raw_elem<float>(const uint4& raw, int i) {
    return __uint_as_float(raw_word(raw, i));
}

template <> __device__ __forceinline__ float raw_elem<__nv_bfloat16>(const uint4& raw, int i) {
    unsigned w = raw_word(raw, i >> 1);
    unsigned f;
    if (i & 1) asm volatile("and.b32 %0, %1, 0xffff0000;" : "=r"(f) : "r"(w));
    else asm volatile("shl.b32 %0, %1, 16;" : "=r"(f) : "r"(w));
    return __uint_as_float(f);
}

template <> __device__ __forceinline__ float raw_elem<__half>(const uint4& raw, int i) {
    unsigned w = raw_word(raw, i >> 1);
    unsigned short h = (unsigned short)((i & 1) ? (w >> 16) : (w & 0xffffu));
    float f;
    asm volatile("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a group of g consecutive threads (g a power of two, 1..1024, dividing blockDim.x; groups
// start at multiples of g). Every thread of the group gets the same result, computed in the same
// order every run. scratch: at least blockDim.x / 32 floats; the whole block must call this
// together (it synchronizes when g > 32).
__device__ __forceinline__ float group_sum(float v, int g, float* scratch) {
    if (g <= 32) {
        for (int o = g >> 1; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        return v;
    }
    v = warp_sum(v);
    int warp = threadIdx.x >> 5;
    int warps_per_group = g >> 5;
    int first = warp / warps_per_group * warps_per_group;
    __syncthreads();
    if ((threadIdx.x & 31) == 0) scratch[warp] = v;
    __syncthreads();
    float t = 0.0f;
    for (int w = 0; w < warps_per_group; w++) t += scratch[first + w];
    return t;
}

// Max over a group, as group_sum.
__device__ __forceinline__ float group_max(float v, int g, float* scratch) {
    if (g <= 32) {
        for (int o = g >> 1; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
        return v;
    }
    v = warp_max(v);
    int warp = threadIdx.x >> 5;
    int warps_per_group = g >> 5;
    int first = warp / warps_per_group * warps_per_group;
    __syncthreads();
    if ((threadIdx.x & 31) == 0) scratch[warp] = v;
    __syncthreads();
    float t = -INFINITY;
    for (int w = 0; w < warps_per_group; w++) t = fmaxf(t, scratch[first + w]);
    return t;
}

// Online-softmax pair (running max m, sum s of exp(x - m)) merged over a group.
__device__ __forceinline__ void merge_max_sum(float& m, float& s, float m2, float s2) {
    float mn = fmaxf(m, m2);
    if (mn == -INFINITY) { m = mn; s = 0.0f; return; }
    s = s * expf(m - mn) + s2 * expf(m2 - mn);
    m = mn;
}

__device__ __forceinline__ void group_max_sum(float& m, float& s, int g, float2* scratch) {
    if (g <= 32) {
        for (int o = g >> 1; o > 0; o >>= 1) {
            float m2 = __shfl_xor_sync(0xffffffffu, m, o);
            float s2 = __shfl_xor_sync(0xffffffffu, s, o);
            merge_max_sum(m, s, m2, s2);
        }
        return;
    }
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o);
        float s2 = __shfl_xor_sync(0xffffffffu, s, o);
        merge_max_sum(m, s, m2, s2);
    }
    int warp = threadIdx.x >> 5;
    int warps_per_group = g >> 5;
    int first = warp / warps_per_group * warps_per_group;
    __syncthreads();
    if ((threadIdx.x & 31) == 0) scratch[warp] = make_float2(m, s);
    __syncthreads();
    float mm = -INFINITY, ss = 0.0f;
    for (int w = 0; w < warps_per_group; w++) merge_max_sum(mm, ss, scratch[first + w].x, scratch[first + w].y);
    m = mm;
    s = ss;
}

#define PANOMNI_FOR_FLOAT_TYPES(M) M(f32, float) M(bf16, __nv_bfloat16) M(f16, __half)
