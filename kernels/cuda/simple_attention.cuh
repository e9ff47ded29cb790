// The steps shared by the simple attention kernels of attention.cu (documents by cu_seqlens) and
// block_attention.cu (any block mask): fp32 on CUDA cores, one warp per row, each lane holding
// SIMPLE_PER_LANE of the row's d <= SIMPLE_MAX_D values (lane + 32 x). The kernels decide which
// key or query each step takes; the arithmetic of a step is the same in both.
#pragma once
#include "vec.cuh"

#define SIMPLE_MAX_D 512
#define SIMPLE_PER_LANE (SIMPLE_MAX_D / 32)

// Forward, one visible key: s = qv . k (qv already scaled), then the online softmax update of the
// running max m, sum l and output acc with v.
template <typename T>
__device__ __forceinline__ void simple_fwd_key(const float* qv, const T* kr, const T* vr, int d, int lane, float& m,
                                               float& l, float* acc) {
    float sdot = 0.0f;
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        if (e < d) sdot = fmaf(qv[x], to_f(kr[e]), sdot);
    }
    sdot = warp_sum(sdot);
    const float mn = fmaxf(m, sdot);
    const float alpha = expf(m - mn);
    const float p = expf(sdot - mn);
    l = l * alpha + p;
    m = mn;
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        if (e < d) acc[x] = fmaf(p, to_f(vr[e]), acc[x] * alpha);
    }
}

// dQ, one visible key: acc += exp(s - lse) (dP - delta) k, with s = qv . k and dP = gv . v.
template <typename T>
__device__ __forceinline__ void simple_dq_key(const float* qv, const float* gv, const T* kr, const T* vr, int d,
                                              int lane, float lt, float dl, float* acc) {
    float sdot = 0.0f, pdot = 0.0f;
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        if (e < d) {
            sdot = fmaf(qv[x], to_f(kr[e]), sdot);
            pdot = fmaf(gv[x], to_f(vr[e]), pdot);
        }
    }
    sdot = warp_sum(sdot);
    pdot = warp_sum(pdot);
    const float ds = expf(sdot - lt) * (pdot - dl);
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        if (e < d) acc[x] = fmaf(ds, to_f(kr[e]), acc[x]);
    }
}
