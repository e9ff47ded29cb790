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

// The products of the flash-attention kernels, over operands staged in swizzled [rows, D] tiles, for
// the warp's 16 rows starting at row a_row of the A tile(s). In each, fragment loads and mma's keep
// the order the kernels had written out, so the compiled code is what it was.

// c = A B^T over D: c[NT][4] is 16 x NT*8 (the first NT*8 rows of b), zeroed first.
template <typename T, int D, int NT>
__device__ __forceinline__ void mma_abt(float (*c)[4], const void* a, int a_row, const void* b, int lane) {
#pragma unroll
    for (int t = 0; t < NT; t++) c[t][0] = c[t][1] = c[t][2] = c[t][3] = 0.0f;
#pragma unroll
    for (int kc = 0; kc < D / 16; kc++) {
        uint32_t fa[4];
        ld_a<D>(fa, a, a_row, kc, lane);
#pragma unroll
        for (int np = 0; np < NT / 2; np++) {
            uint32_t fb[4];
            ld_b_nk<D>(fb, b, np * 16, kc, lane);
            mma16816<T>(c[2 * np], fa, fb[0], fb[1]);
            mma16816<T>(c[2 * np + 1], fa, fb[2], fb[3]);
        }
    }
}

// Two such products sharing one loop: c0 = A0 B0^T and c1 = A1 B1^T. UNROLL is how far the loop over
// D unrolls (the dK/dV kernel keeps it at 2 to hold its registers; D / 16 unrolls fully).
template <typename T, int D, int NT, int UNROLL>
__device__ __forceinline__ void mma_abt2(float (*c0)[4], float (*c1)[4], const void* a0, const void* a1, int a_row,
                                         const void* b0, const void* b1, int lane) {
#pragma unroll
    for (int t = 0; t < NT; t++) {
        c0[t][0] = c0[t][1] = c0[t][2] = c0[t][3] = 0.0f;
        c1[t][0] = c1[t][1] = c1[t][2] = c1[t][3] = 0.0f;
    }
#pragma unroll UNROLL
    for (int kc = 0; kc < D / 16; kc++) {
        uint32_t f0[4], f1[4];
        ld_a<D>(f0, a0, a_row, kc, lane);
        ld_a<D>(f1, a1, a_row, kc, lane);
#pragma unroll
        for (int np = 0; np < NT / 2; np++) {
            uint32_t fb[4];
            ld_b_nk<D>(fb, b0, np * 16, kc, lane);
            mma16816<T>(c0[2 * np], f0, fb[0], fb[1]);
            mma16816<T>(c0[2 * np + 1], f0, fb[2], fb[3]);
            ld_b_nk<D>(fb, b1, np * 16, kc, lane);
            mma16816<T>(c1[2 * np], f1, fb[0], fb[1]);
            mma16816<T>(c1[2 * np + 1], f1, fb[2], fb[3]);
        }
    }
}

// acc += P B: P is 16 x K fp32 accumulators (p, mma's output layout, rounded to T in registers), B
// the first K rows of b; acc[D / 8][4] is 16 x D.
template <typename T, int D, int K>
__device__ __forceinline__ void mma_pb(float (*acc)[4], const float (*p)[4], const void* b, int lane) {
#pragma unroll
    for (int kc = 0; kc < K / 16; kc++) {
        uint32_t fa[4];
        acc_to_a<T>(fa, p, kc);
#pragma unroll
        for (int nc = 0; nc < D / 16; nc++) {
            uint32_t fb[4];
            ld_b_kn<D>(fb, b, kc * 16, nc, lane);
            mma16816<T>(acc[2 * nc], fa, fb[0], fb[1]);
            mma16816<T>(acc[2 * nc + 1], fa, fb[2], fb[3]);
        }
    }
}

// Two such products sharing one loop: acc0 += P0 B0 and acc1 += P1 B1.
template <typename T, int D, int K>
__device__ __forceinline__ void mma_pb2(float (*acc0)[4], float (*acc1)[4], const float (*p0)[4],
                                        const float (*p1)[4], const void* b0, const void* b1, int lane) {
#pragma unroll
    for (int kc = 0; kc < K / 16; kc++) {
        uint32_t f0[4], f1[4];
        acc_to_a<T>(f0, p0, kc);
        acc_to_a<T>(f1, p1, kc);
#pragma unroll
        for (int nc = 0; nc < D / 16; nc++) {
            uint32_t fb[4];
            ld_b_kn<D>(fb, b0, kc * 16, nc, lane);
            mma16816<T>(acc0[2 * nc], f0, fb[0], fb[1]);
            mma16816<T>(acc0[2 * nc + 1], f0, fb[2], fb[3]);
            ld_b_kn<D>(fb, b1, kc * 16, nc, lane);
            mma16816<T>(acc1[2 * nc], f1, fb[0], fb[1]);
            mma16816<T>(acc1[2 * nc + 1], f1, fb[2], fb[3]);
        }
    }
}
