// Grouped GEMM for Mixture-of-Experts layers: one launch computes every expert's product over its
// run of rows, with the runs (group offsets) read from device memory. bf16/f16 operands, fp32
// accumulation on tensor cores (mma.sync.m16n8k16), results rounded once to the operand type.
//
//   fwd: out[r, n]   = sum_k x[r, k] w[g, n, k]      rows r of group g    (x @ w_g^T)
//   dx:  dx[r, k]    = sum_n dy[r, n] w[g, n, k]     rows r of group g    (dy @ w_g)
//   dw:  dw[g, n, k] = sum_r dy[r, n] x[r, k]        over rows r of g     (dy_g^T @ x_g)
//
// One kernel body, C[m, n] = sum_k A(m, k) B(k, n) on 128 x 128 tiles, 32 deep, three cp.async
// stages, four warps of 64 x 64 (the warp tile that keeps shared-memory reads per mma low enough); each operand is either K-contiguous ("row": A[m][k], B[n][k]) or M/N-contiguous ("km":
// A[k][m], B[k][n]), read from shared memory with ldmatrix or ldmatrix.trans. Shared tiles are
// XOR-swizzled by 16-byte chunk so both ldmatrix forms are free of bank conflicts. Requirements
// (checked by the launcher): contiguous operands, 16-byte aligned bases, every dimension a multiple
// of 8 (so a 16-byte chunk is all in or all out of range); group offsets are arbitrary.
#include "common.cuh"
#include "vec.cuh"
#include "ptx.cuh"

#define GG_BM 128
#define GG_BN 128
#define GG_BK 32
#define GG_STAGES 3
// Warp grids: WIDE is 2 x 2 warps of 64 x 64 (128 threads), the one instantiated; 2 x 4 warps of
// 64 x 32 (256 threads) measured 2-11% slower on H100 (bench/RESULTS.md, grouped GEMM).
template <bool WIDE> struct GgWarps {
    static constexpr int THREADS = WIDE ? 128 : 256;
    static constexpr int WN = WIDE ? 2 : 4;          // warps along n
    static constexpr int NT = WIDE ? 8 : 4;          // n8 tiles per warp
};

// Two adjacent results rounded to T and stored as one 4-byte word.
template <typename T> struct Vec2Store;
template <> struct Vec2Store<__nv_bfloat16> {
    static __device__ __forceinline__ void store(__nv_bfloat16* p, float a, float b) {
        *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(a, b);
    }
};
template <> struct Vec2Store<__half> {
    static __device__ __forceinline__ void store(__half* p, float a, float b) {
        *reinterpret_cast<__half2*>(p) = __floats2half2_rn(a, b);
    }
};

// Element offset of (row, col) in a swizzled tile of `chunks` 16-byte chunks per row.
template <int CHUNKS> __device__ __forceinline__ int gg_swz(int row, int col) {
    int chunk = col >> 3;
    int phys = CHUNKS == 4 ? (chunk ^ ((row >> 1) & 3)) : (chunk ^ (row & 7));
    return row * CHUNKS * 8 + phys * 8 + (col & 7);
}

// One operand tile in shared memory: "row" layout [128][32] (K contiguous, 4 chunks per row) or
// "km" layout [32][128] (M or N contiguous, 16 chunks per row). Both are 4096 elements.
template <typename T, bool KM, bool WIDE> struct GgTile {
    // Loads the tile whose first M/N index is `mn0` and first K index `k0` from a row-major matrix
    // with leading dimension `ld`: row layout reads mat[mn][k], km layout mat[k][mn]. Elements with
    // mn >= mnEnd or k >= kEnd are zero.
    static __device__ __forceinline__ void load(T* tile, const T* mat, long long ld, long long mn0, long long mnEnd,
                                                long long k0, long long kEnd) {
        int tid = threadIdx.x;
#pragma unroll
        for (int i = 0; i < GG_BM * GG_BK / 8 / GgWarps<WIDE>::THREADS; i++) {
            int c = tid + i * GgWarps<WIDE>::THREADS;
            int row, col;
            long long mn, k;
            if (!KM) {
                row = c >> 2;
                col = (c & 3) * 8;
                mn = mn0 + row;
                k = k0 + col;
            } else {
                row = c >> 4;
                col = (c & 15) * 8;
                k = k0 + row;
                mn = mn0 + col;
            }
            bool ok = mn < mnEnd && k < kEnd;
            const T* src = ok ? (KM ? mat + k * ld + mn : mat + mn * ld + k) : mat;
            cp_async16(tile + gg_swz<KM ? 16 : 4>(row, col), src, ok ? 16 : 0);
        }
    }

    // A fragments of a 16 x 16 (m x k) block at (m, k) of an A tile.
    static __device__ __forceinline__ void fragA(uint32_t* r, const T* tile, int m, int k) {
        int lane = threadIdx.x & 31;
        int j = lane >> 3;
        int i = lane & 7;
        if (!KM) {
            ldsm_x4(r, tile + gg_swz<4>(m + i + (j & 1) * 8, k + (j >> 1) * 8));
        } else {
            ldsm_x4_t(r, tile + gg_swz<16>(k + i + (j >> 1) * 8, m + (j & 1) * 8));
        }
    }

    // B fragments of two 16 x 8 (k x n) blocks at (k, n) and (k, n + 8) of a B tile:
    // r[0], r[1] for columns n..n+7 and r[2], r[3] for n+8..n+15.
    static __device__ __forceinline__ void fragB(uint32_t* r, const T* tile, int k, int n) {
        int lane = threadIdx.x & 31;
        int j = lane >> 3;
        int i = lane & 7;
        if (!KM) {
            ldsm_x4(r, tile + gg_swz<4>(n + i + (j >> 1) * 8, k + (j & 1) * 8));
        } else {
            ldsm_x4_t(r, tile + gg_swz<16>(k + i + (j & 1) * 8, n + (j >> 1) * 8));
        }
    }
};

// Accumulates the 128 x 128 tile C[m0.., n0..] += sum over k in [kBegin, kEnd) of A(m, k) B(k, n).
// A is `a` with leading dimension lda (row: a[m][k]; km: a[k][m]); likewise B. Rows m >= mEnd and
// columns n >= nEnd read as zero. Warps are 2 (m) x GgWarps::WN (n), each owning 64 rows.
template <typename T, bool AKM, bool BKM, bool WIDE>
__device__ __forceinline__ void gg_tile(float (&acc)[4][GgWarps<WIDE>::NT][4], const T* a, long long lda, long long m0, long long mEnd,
                                        const T* b, long long ldb, long long n0, long long nEnd, long long kBegin,
                                        long long kEnd) {
    __align__(128) __shared__ T sa[GG_STAGES][GG_BM * GG_BK];
    __align__(128) __shared__ T sb[GG_STAGES][GG_BN * GG_BK];
    int warp = threadIdx.x >> 5;
    constexpr int NT = GgWarps<WIDE>::NT;
    int wm = (warp / GgWarps<WIDE>::WN) * 64;
    int wn = (warp % GgWarps<WIDE>::WN) * NT * 8;
    int tiles = (int)((kEnd - kBegin + GG_BK - 1) / GG_BK);
#pragma unroll
    for (int s = 0; s < GG_STAGES - 1; s++) {
        if (s < tiles) {
            long long k0 = kBegin + (long long)s * GG_BK;
            GgTile<T, AKM, WIDE>::load(sa[s], a, lda, m0, mEnd, k0, kEnd);
            GgTile<T, BKM, WIDE>::load(sb[s], b, ldb, n0, nEnd, k0, kEnd);
        }
        cp_async_commit();
    }
    for (int kt = 0; kt < tiles; kt++) {
        cp_async_wait<GG_STAGES - 2>();
        __syncthreads();
        int next = kt + GG_STAGES - 1;
        if (next < tiles) {
            long long k0 = kBegin + (long long)next * GG_BK;
            GgTile<T, AKM, WIDE>::load(sa[next % GG_STAGES], a, lda, m0, mEnd, k0, kEnd);
            GgTile<T, BKM, WIDE>::load(sb[next % GG_STAGES], b, ldb, n0, nEnd, k0, kEnd);
        }
        cp_async_commit();
        const T* ta = sa[kt % GG_STAGES];
        const T* tb = sb[kt % GG_STAGES];
#pragma unroll
        for (int kk = 0; kk < GG_BK; kk += 16) {
            uint32_t fa[4][4];
            uint32_t fb[NT / 2][4];
#pragma unroll
            for (int mt = 0; mt < 4; mt++) GgTile<T, AKM, WIDE>::fragA(fa[mt], ta, wm + mt * 16, kk);
#pragma unroll
            for (int np = 0; np < NT / 2; np++) GgTile<T, BKM, WIDE>::fragB(fb[np], tb, kk, wn + np * 16);
#pragma unroll
            for (int mt = 0; mt < 4; mt++) {
#pragma unroll
                for (int nt = 0; nt < NT; nt++) {
                    mma16816<T>(acc[mt][nt], fa[mt], fb[nt >> 1][(nt & 1) * 2], fb[nt >> 1][(nt & 1) * 2 + 1]);
                }
            }
        }
    }
    cp_async_wait<0>();
}

// Writes the tile's accumulators to out[m][n] (leading dimension ldo) for m < mEnd, n < nEnd.
template <typename T, bool WIDE>
__device__ __forceinline__ void gg_store(const float (&acc)[4][GgWarps<WIDE>::NT][4], T* out, long long ldo, long long m0,
                                         long long mEnd, long long n0, long long nEnd) {
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int g = lane >> 2;
    int t = lane & 3;
    constexpr int NT = GgWarps<WIDE>::NT;
    long long mBase = m0 + (warp / GgWarps<WIDE>::WN) * 64;
    long long nBase = n0 + (warp % GgWarps<WIDE>::WN) * NT * 8;
#pragma unroll
    for (int mt = 0; mt < 4; mt++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            long long m = mBase + mt * 16 + g + half * 8;
            if (m >= mEnd) continue;
#pragma unroll
            for (int nt = 0; nt < NT; nt++) {
                long long n = nBase + nt * 8 + 2 * t;
                if (n >= nEnd) continue;
                Vec2Store<T>::store(out + m * ldo + n, acc[mt][nt][half * 2], acc[mt][nt][half * 2 + 1]);
            }
        }
    }
}

// The (group, first row) of row tile `tile` when every group's rows are cut into 128-row tiles in
// group order; false past the last tile.
__device__ __forceinline__ bool gg_row_tile(const long long* offsets, int groups, int tile, int* group,
                                            long long* first) {
    int seen = 0;
    for (int g = 0; g < groups; g++) {
        long long rows = offsets[g + 1] - offsets[g];
        int count = (int)((rows + GG_BM - 1) / GG_BM);
        if (tile < seen + count) {
            *group = g;
            *first = offsets[g] + (long long)(tile - seen) * GG_BM;
            return true;
        }
        seen += count;
    }
    return false;
}

// out[r, :] for the rows of one 128-row tile: A = rows [R, K] (row layout), B = w_g, in row layout
// ([N, K], forward) or km layout ([K, N], the input gradient). grid (row tiles bound: ceil(R/128) +
// groups, ceil(N/128)); blocks past the last row tile return at once.
template <typename T, bool BKM, bool WIDE>
__device__ __forceinline__ void gg_rows(const T* x, const T* w, const long long* offsets, int groups, T* out,
                                        long long k, long long n) {
    int group;
    long long first;
    if (!gg_row_tile(offsets, groups, blockIdx.x, &group, &first)) return;
    long long end = offsets[group + 1];
    long long n0 = (long long)blockIdx.y * GG_BN;
    float acc[4][GgWarps<WIDE>::NT][4] = {};
    const T* wg = w + (long long)group * n * k;
    gg_tile<T, false, BKM, WIDE>(acc, x, k, first, end, wg, BKM ? n : k, n0, n, 0, k);
    gg_store<T, WIDE>(acc, out, n, first, end, n0, n);
}

// dw[g] [N, K] = dy_g^T x_g over the group's rows: A = dy [R, N] and B = x [R, K], both km layout.
// grid (ceil(K/128), ceil(N/128), groups); an empty group writes zeros.
template <typename T, bool WIDE>
__device__ __forceinline__ void gg_weight(const T* dy, const T* x, const long long* offsets, T* dw, long long n,
                                          long long k) {
    int group = blockIdx.z;
    long long m0 = (long long)blockIdx.y * GG_BM;
    long long n0 = (long long)blockIdx.x * GG_BN;
    float acc[4][GgWarps<WIDE>::NT][4] = {};
    gg_tile<T, true, true, WIDE>(acc, dy, n, m0, n, x, k, n0, k, offsets[group], offsets[group + 1]);
    gg_store<T, WIDE>(acc, dw + (long long)group * n * k, k, m0, n, n0, k);
}

#define GG_ENTRIES(SUF, T, WIDE)                                                                                    \
    extern "C" __global__ void __launch_bounds__(GgWarps<WIDE>::THREADS) grouped_gemm_fwd_##SUF(                  \
        const T* x, const T* w, const long long* offsets, int groups, T* out, long long k, long long n) {         \
        gg_rows<T, false, WIDE>(x, w, offsets, groups, out, k, n);                                                  \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(GgWarps<WIDE>::THREADS) grouped_gemm_dx_##SUF(                   \
        const T* dy, const T* w, const long long* offsets, int groups, T* dx, long long n, long long k) {         \
        gg_rows<T, true, WIDE>(dy, w, offsets, groups, dx, n, k);                                                   \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(GgWarps<WIDE>::THREADS) grouped_gemm_dw_##SUF(                   \
        const T* dy, const T* x, const long long* offsets, T* dw, long long n, long long k) {                     \
        gg_weight<T, WIDE>(dy, x, offsets, dw, n, k);                                                               \
    }

GG_ENTRIES(bf16, __nv_bfloat16, true)
GG_ENTRIES(f16, __half, true)
