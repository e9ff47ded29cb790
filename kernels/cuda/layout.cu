// Fill and strided, converting copy: the CUDA side of dev.panomni.tensor.ops.LayoutKernels
// (CPU twin: tensor/.../cpu/CpuLayoutKernels.java).
#include "common.cuh"

extern "C" __global__ void fill_strided(char* dst, int dt, Strided d, long long n, double value) {
    GRID_STRIDE_LOOP(i, n) {
        long long o = strided_offset(d, i);
        if (is_float(dt)) store_f(dst, dt, o, (float)value); else store_l(dst, dt, o, (long long)value);
    }
}

extern "C" __global__ void copy_strided(const char* src, int sdt, Strided s, char* dst, int ddt, Strided d, long long n) {
    bool integral = !is_float(sdt) && !is_float(ddt);
    GRID_STRIDE_LOOP(i, n) {
        long long so = strided_offset(s, i);
        long long doff = strided_offset(d, i);
        if (integral) store_l(dst, ddt, doff, load_l(src, sdt, so));
        else store_f(dst, ddt, doff, load_f(src, sdt, so));
    }
}

// Contiguous casts on the hot path of mixed precision (fp32 master weights <-> bf16 compute copies):
// four elements per thread, 16-byte loads of the fp32 side.
extern "C" __global__ void cast_f32_to_bf16(const float* __restrict__ src, __nv_bfloat16* __restrict__ dst, long long n) {
    long long n4 = n / 4;
    GRID_STRIDE_LOOP(i, n4) {
        float4 v = reinterpret_cast<const float4*>(src)[i];
        __nv_bfloat162 a = __floats2bfloat162_rn(v.x, v.y);
        __nv_bfloat162 b = __floats2bfloat162_rn(v.z, v.w);
        reinterpret_cast<__nv_bfloat162*>(dst)[2 * i] = a;
        reinterpret_cast<__nv_bfloat162*>(dst)[2 * i + 1] = b;
    }
    GRID_STRIDE_LOOP(j, n - n4 * 4) { dst[n4 * 4 + j] = __float2bfloat16_rn(src[n4 * 4 + j]); }
}

extern "C" __global__ void cast_bf16_to_f32(const __nv_bfloat16* __restrict__ src, float* __restrict__ dst, long long n) {
    long long n4 = n / 4;
    GRID_STRIDE_LOOP(i, n4) {
        __nv_bfloat162 a = reinterpret_cast<const __nv_bfloat162*>(src)[2 * i];
        __nv_bfloat162 b = reinterpret_cast<const __nv_bfloat162*>(src)[2 * i + 1];
        float2 fa = __bfloat1622float2(a);
        float2 fb = __bfloat1622float2(b);
        reinterpret_cast<float4*>(dst)[i] = make_float4(fa.x, fa.y, fb.x, fb.y);
    }
    GRID_STRIDE_LOOP(j, n - n4 * 4) { dst[n4 * 4 + j] = __bfloat162float(src[n4 * 4 + j]); }
}
