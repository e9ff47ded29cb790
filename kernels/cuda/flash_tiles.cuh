// Tile staging and tensor-core operand helpers of the flash-attention kernels: [rows][D] tiles of
// 16-bit elements in shared memory, copied by cp.async in 16-byte chunks with XOR-swizzled rows (so
// ldmatrix is conflict-free), and the ldmatrix loads that turn them into mma.m16n8k16 operands.
// Shared by attention.cu (packed varlen documents) and block_attention.cu (block masks).
#pragma once
#include "vec.cuh"
#include "ptx.cuh"

// Two floats as a packed pair of T (lo = first).
template <typename T> __device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <> __device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}
template <> __device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

// Element offset of 16-byte chunk c of row r in a swizzled [rows][D] tile: chunk c lands at c ^ (r & 7).
template <int D> __device__ __forceinline__ int swz(int r, int c) { return r * D + ((c ^ (r & 7)) << 3); }

// Copies rows [row0, row0 + ROWS) of head h of a [T, H, D] tensor into a swizzled tile; rows at or
// past `total` are zero-filled.
template <typename T, int D, int ROWS, int THREADS>
__device__ __forceinline__ void load_tile(T* tile, const T* base, int row0, int heads, int h, int total) {
    constexpr int CHUNKS = D / 8;
#pragma unroll
    for (int e = threadIdx.x; e < ROWS * CHUNKS; e += THREADS) {
        int r = e / CHUNKS;
        int c = e % CHUNKS;
        int t = row0 + r;
        bool in = t < total && t >= 0;
        const T* src = base + ((long long)(in ? t : 0) * heads + h) * D + c * 8;
        cp_async16(tile + swz<D>(r, c), src, in ? 16 : 0);
    }
}

// A operand (16x16 at rows r0.., k-chunk pair kc*2..) of a swizzled row-major tile.
template <int D> __device__ __forceinline__ void ld_a(uint32_t* a, const void* tile, int r0, int kc, int lane) {
    const char* b = (const char*)tile;
    int r = r0 + (lane & 15);
    int c = kc * 2 + (lane >> 4);
    ldsm_x4(a, b + swz<D>(r, c) * 2);
}

// B operands of two n-tiles (n0.., n0+8..) from a tile stored [n][k] (rows = n): b[0], b[1] for
// n-tile n0 and b[2], b[3] for n0 + 8, k-chunk pair kc*2...
template <int D> __device__ __forceinline__ void ld_b_nk(uint32_t* b, const void* tile, int n0, int kc, int lane) {
    const char* p = (const char*)tile;
    int r = n0 + (lane & 7) + ((lane >> 4) << 3);
    int c = kc * 2 + ((lane >> 3) & 1);
    ldsm_x4(b, p + swz<D>(r, c) * 2);
}

// B operands of two n-tiles (columns n-chunk pair nc*2.., i.e. n0 = nc * 16) from a tile stored
// [k][n] (rows = k), k rows k0..k0+15: b[0], b[1] for n-tile n0, b[2], b[3] for n0 + 8.
template <int D> __device__ __forceinline__ void ld_b_kn(uint32_t* b, const void* tile, int k0, int nc, int lane) {
    const char* p = (const char*)tile;
    int r = k0 + (lane & 7) + (((lane >> 3) & 1) << 3);
    int c = nc * 2 + (lane >> 4);
    ldsm_x4_t(b, p + swz<D>(r, c) * 2);
}

// The A operand of a product whose left factor is a 16 x 32 block of fp32 accumulators (s[2 kc],
// s[2 kc + 1], the layout mma writes): rounded to T in registers, never staged in shared memory.
template <typename T> __device__ __forceinline__ void acc_to_a(uint32_t* a, const float (*s)[4], int kc) {
    a[0] = pack2<T>(s[2 * kc][0], s[2 * kc][1]);
    a[1] = pack2<T>(s[2 * kc][2], s[2 * kc][3]);
    a[2] = pack2<T>(s[2 * kc + 1][0], s[2 * kc + 1][1]);
    a[3] = pack2<T>(s[2 * kc + 1][2], s[2 * kc + 1][3]);
}
