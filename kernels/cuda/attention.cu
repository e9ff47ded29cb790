// Scaled-dot-product attention over packed variable-length documents, flash-attention style: the
// CUDA side of dev.panomni.tensor.ops.AttentionKernels (CPU twin: tensor/.../cpu/CpuAttentionKernels.java).
//
// Layouts: q, out, dout, dq [T, Hq, D]; k, v, dk, dv [T, Hkv, D]; lse, delta F32 [Hq, T]; cu I32
// [ncu] document starts (ncu = 0: one document of T tokens). Query head h reads kv head h / group.
//
// Tiling runs over the packed token axis, not per document: a tile of rows may span documents, and
// every logit is masked by its row's document (key j is visible to row t when ds(t) <= j < lim(t),
// lim = t + 1 when causal, else the document's end). The document bounds come from a binary search
// of cu on the device, so the host never reads cu. A tile's key range starts at the first row's
// document start and ends at the last row's limit, so a tile that straddles a boundary only
// computes a few masked blocks more.
//
// Tensor-core kernels (bf16 or f16 inputs, head dim 64 or 128): mma.sync.m16n8k16 with fp32
// accumulators, operands staged in shared memory by cp.async (16-byte chunks, XOR-swizzled rows so
// ldmatrix is conflict-free), double-buffered. The logits stay in registers; probabilities become
// the A operand of the next product without leaving them.
//   attn_fwd_*      block = 128 query rows of one head (8 warps x 16 rows), key blocks of 64
//   attn_bwd_delta  delta[h, t] = dout[t, h] . out[t, h]
//   attn_bwd_dkdv_* block = 128 keys of one kv head (8 warps x 16 keys), query steps of 64 (32 for
//                   D = 128); walks every query head of
//                   its group and every query block that sees it, in a fixed order: dK and dV are
//                   owned by one block each, so they need no atomics and are deterministic
//   attn_bwd_dq_*   block = 128 query rows of one head, walking the key blocks; owns its dQ rows
// Other head dims and f32 inputs use the simple kernels at the end (one warp per row, fp32 CUDA
// cores), which are also deterministic.
#include "flash_tiles.cuh"
#include "simple_attention.cuh"

#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

// ------------------------------------------------------------------------------ documents

// The document [ds, de) holding token t: the last cu entry <= t starts it. ncu == 0: one document.
// Bounds are clamped to [0, T] so malformed cu (reported by attn_check_cu) never leads outside.
__device__ __forceinline__ void doc_bounds(const int* cu, int ncu, int t, int total, int& ds, int& de) {
    if (ncu < 2) {
        ds = 0;
        de = total;
        return;
    }
    int lo = 0, hi = ncu - 2;   // answer in [0, ncu - 2]
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (cu[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    ds = min(max(cu[lo], 0), total);
    de = min(max(cu[lo + 1], 0), total);
}

// First position p where cu breaks the rules (cu[0] == 0, never decreasing, cu[ncu-1] == total),
// or nothing. One thread.
extern "C" __global__ void attn_check_cu(const int* cu, int ncu, int total, long long* bad) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    long long first = LLONG_MAX;
    if (cu[0] != 0) first = 0;
    for (int i = 1; i < ncu && first == LLONG_MAX; i++) {
        if (cu[i] < cu[i - 1]) first = i;
    }
    if (first == LLONG_MAX && cu[ncu - 1] != total) first = ncu - 1;
    *bad = first;
}

// ------------------------------------------------------------------------------ forward

#define FWD_BQ 128
#define FWD_BK 64
#define FWD_THREADS 256

// Dynamic shared memory: Q [128][D], K [2][64][D], V [2][64][D].
template <typename T, int D>
__device__ __forceinline__ void attn_fwd_body(const T* __restrict__ q, const T* __restrict__ k,
                                              const T* __restrict__ v, const int* cu, int ncu, int total, int hq,
                                              int hkv, int causal, float scale, T* __restrict__ out, float* lse) {
    extern __shared__ uint4 smem_raw[];
    T* qs = reinterpret_cast<T*>(smem_raw);
    T* ks = qs + FWD_BQ * D;
    T* vs = ks + 2 * FWD_BK * D;
    constexpr int NT = FWD_BK / 8;     // n-tiles of a logit block
    constexpr int OT = D / 8;          // n-tiles of the output
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int g = lane >> 2, tig = lane & 3;
    const int h = blockIdx.y;
    const int kvh = h / (hq / hkv);
    const int i0 = blockIdx.x * FWD_BQ;
    const int last = min(i0 + FWD_BQ, total) - 1;

    // This thread's two rows and their visible key ranges.
    int row[2] = {i0 + warp * 16 + g, i0 + warp * 16 + g + 8};
    int lo[2], lim[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (row[r] < total) {
            int ds, de;
            doc_bounds(cu, ncu, row[r], total, ds, de);
            lo[r] = ds;
            lim[r] = causal ? row[r] + 1 : de;
        } else {
            lo[r] = total;   // nothing visible; the row is never stored
            lim[r] = 0;
        }
    }
    int k_start, k_end;
    {
        int ds, de;
        doc_bounds(cu, ncu, i0, total, ds, de);
        k_start = ds;
        doc_bounds(cu, ncu, last, total, ds, de);
        k_end = causal ? last + 1 : de;
    }
    const int n_blocks = k_end > k_start ? (k_end - k_start + FWD_BK - 1) / FWD_BK : 0;

    load_tile<T, D, FWD_BQ, FWD_THREADS>(qs, q, i0, hq, h, total);
    if (n_blocks > 0) {
        load_tile<T, D, FWD_BK, FWD_THREADS>(ks, k, k_start, hkv, kvh, total);
        load_tile<T, D, FWD_BK, FWD_THREADS>(vs, v, k_start, hkv, kvh, total);
    }
    cp_async_commit();

    float o[OT][4];
#pragma unroll
    for (int t = 0; t < OT; t++) o[t][0] = o[t][1] = o[t][2] = o[t][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY};
    float l[2] = {0.0f, 0.0f};
    const float c = scale * LOG2E;

    for (int it = 0; it < n_blocks; it++) {
        const int j0 = k_start + it * FWD_BK;
        const int stage = it & 1;
        if (it + 1 < n_blocks) {
            load_tile<T, D, FWD_BK, FWD_THREADS>(ks + (stage ^ 1) * FWD_BK * D, k, j0 + FWD_BK, hkv, kvh, total);
            load_tile<T, D, FWD_BK, FWD_THREADS>(vs + (stage ^ 1) * FWD_BK * D, v, j0 + FWD_BK, hkv, kvh, total);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const T* kt = ks + stage * FWD_BK * D;
        const T* vt = vs + stage * FWD_BK * D;

        // S = Q K^T for this warp's 16 rows and 64 keys.
        float s[NT][4];
        mma_abt<T, D, NT>(s, qs, warp * 16, kt, lane);

        // Scale to log2 units and mask.
#pragma unroll
        for (int r = 0; r < 2; r++) {
            bool full = j0 >= lo[r] && j0 + FWD_BK <= lim[r];
#pragma unroll
            for (int t = 0; t < NT; t++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float x = s[t][r * 2 + e] * c;
                    if (!full) {
                        int j = j0 + t * 8 + tig * 2 + e;
                        if (j < lo[r] || j >= lim[r]) x = -INFINITY;
                    }
                    s[t][r * 2 + e] = x;
                }
            }
        }

        // Online softmax; rows are shared by the 4 threads of a quad.
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float mx = -INFINITY;
#pragma unroll
            for (int t = 0; t < NT; t++) mx = fmaxf(mx, fmaxf(s[t][r * 2], s[t][r * 2 + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            float m_new = fmaxf(m[r], mx);
            float m_use = m_new == -INFINITY ? 0.0f : m_new;
            float alpha = exp2f(m[r] - m_use);
            float sum = 0.0f;
#pragma unroll
            for (int t = 0; t < NT; t++) {
                float p0 = exp2f(s[t][r * 2] - m_use);
                float p1 = exp2f(s[t][r * 2 + 1] - m_use);
                s[t][r * 2] = p0;
                s[t][r * 2 + 1] = p1;
                sum += p0 + p1;
            }
            l[r] = l[r] * alpha + sum;
            m[r] = m_new;
#pragma unroll
            for (int t = 0; t < OT; t++) {
                o[t][r * 2] *= alpha;
                o[t][r * 2 + 1] *= alpha;
            }
        }

        // O += P V: P's accumulator layout is the A-operand layout of the next product.
        mma_pb<T, D, FWD_BK>(o, s, vt, lane);
        __syncthreads();   // the stage read here is the one the next iteration refills
    }
    cp_async_wait<0>();

#pragma unroll
    for (int r = 0; r < 2; r++) {
        float lt = l[r];
        lt += __shfl_xor_sync(0xffffffffu, lt, 1);
        lt += __shfl_xor_sync(0xffffffffu, lt, 2);
        if (row[r] >= total) continue;
        float inv = 1.0f / lt;
        T* orow = out + ((long long)row[r] * hq + h) * D;
#pragma unroll
        for (int t = 0; t < OT; t++) {
            uint32_t pair = pack2<T>(o[t][r * 2] * inv, o[t][r * 2 + 1] * inv);
            *reinterpret_cast<uint32_t*>(orow + t * 8 + tig * 2) = pair;
        }
        if (lse != nullptr && tig == 0) lse[(long long)h * total + row[r]] = (m[r] + log2f(lt)) * LN2;
    }
}

// ------------------------------------------------------------------------------ backward: delta

// delta[h, t] = sum_d dout[t, h, d] * out[t, h, d]; one warp per (t, h).
template <typename T>
__device__ void attn_bwd_delta(const T* dout, const T* out, int total, int hq, int d, float* delta) {
    long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (w >= (long long)total * hq) return;
    long long t = w / hq;
    int h = (int)(w % hq);
    const T* a = dout + w * d;
    const T* b = out + w * d;
    float acc = 0.0f;
    for (int e = lane; e < d; e += 32) acc = fmaf(to_f(a[e]), to_f(b[e]), acc);
    acc = warp_sum(acc);
    if (lane == 0) delta[(long long)h * total + t] = acc;
}

// ------------------------------------------------------------------------------ backward: dK, dV

#define BWD_BK 128     // keys per dK/dV block (8 warps x 16)
#define BWD_THREADS 256

// Queries per step: 64, or 32 for D = 128, where 64 would not fit the registers.
template <int D> struct BwdTile { static constexpr int BQ = D >= 128 ? 32 : 64; };

// Dynamic shared memory: K [128][D], V [128][D], Q [2][BQ][D], dO [2][BQ][D], then per query of
// each stage: lse2, delta (float), lo, lim (int).
template <typename T, int D>
__device__ __forceinline__ void attn_bwd_dkdv_body(const T* __restrict__ q, const T* __restrict__ k,
                                                   const T* __restrict__ v, const T* __restrict__ dout,
                                                   const float* lse, const float* delta, const int* cu, int ncu,
                                                   int total, int hq, int hkv, int causal, float scale,
                                                   T* __restrict__ dk, T* __restrict__ dv) {
    constexpr int BWD_BQ = BwdTile<D>::BQ;
    extern __shared__ uint4 smem_raw[];
    T* ks = reinterpret_cast<T*>(smem_raw);
    T* vs = ks + BWD_BK * D;
    T* qs = vs + BWD_BK * D;
    T* dos = qs + 2 * BWD_BQ * D;
    float* s_lse = reinterpret_cast<float*>(dos + 2 * BWD_BQ * D);   // [2][BWD_BQ]
    float* s_delta = s_lse + 2 * BWD_BQ;
    int* s_lo = reinterpret_cast<int*>(s_delta + 2 * BWD_BQ);
    int* s_lim = s_lo + 2 * BWD_BQ;
    constexpr int NT = BWD_BQ / 8;   // n-tiles over queries
    constexpr int OT = D / 8;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int g = lane >> 2, tig = lane & 3;
    const int kvh = blockIdx.y;
    const int group = hq / hkv;
    const int j0 = blockIdx.x * BWD_BK;
    const int j_last = min(j0 + BWD_BK, total) - 1;

    // Queries that may see a key of this block.
    int q_start, q_end;
    {
        int ds, de;
        doc_bounds(cu, ncu, j0, total, ds, de);
        q_start = causal ? j0 : ds;
        doc_bounds(cu, ncu, j_last, total, ds, de);
        q_end = de;
    }
    const int q_blocks = q_end > q_start ? (q_end - q_start + BWD_BQ - 1) / BWD_BQ : 0;
    const int steps = q_blocks * group;

    // This thread's two keys (rows of the transposed products).
    int key[2] = {j0 + warp * 16 + g, j0 + warp * 16 + g + 8};

    load_tile<T, D, BWD_BK, BWD_THREADS>(ks, k, j0, hkv, kvh, total);
    load_tile<T, D, BWD_BK, BWD_THREADS>(vs, v, j0, hkv, kvh, total);

    // Step s: query head kvh * group + s / q_blocks, query block s % q_blocks.
    auto issue = [&](int s, int stage) {
        int h = kvh * group + s / q_blocks;
        int i0 = q_start + (s % q_blocks) * BWD_BQ;
        load_tile<T, D, BWD_BQ, BWD_THREADS>(qs + stage * BWD_BQ * D, q, i0, hq, h, total);
        load_tile<T, D, BWD_BQ, BWD_THREADS>(dos + stage * BWD_BQ * D, dout, i0, hq, h, total);
        for (int r = threadIdx.x; r < BWD_BQ; r += BWD_THREADS) {
            int t = i0 + r;
            float l2 = 0.0f, dl = 0.0f;
            int lo = total, lim = 0;   // rows past the end see nothing
            if (t < total) {
                l2 = lse[(long long)h * total + t] * LOG2E;
                dl = delta[(long long)h * total + t];
                int ds, de;
                doc_bounds(cu, ncu, t, total, ds, de);
                lo = ds;
                lim = causal ? t + 1 : de;
            }
            s_lse[stage * BWD_BQ + r] = l2;
            s_delta[stage * BWD_BQ + r] = dl;
            s_lo[stage * BWD_BQ + r] = lo;
            s_lim[stage * BWD_BQ + r] = lim;
        }
    };
    if (steps > 0) issue(0, 0);
    cp_async_commit();

    float dkacc[OT][4], dvacc[OT][4];
#pragma unroll
    for (int t = 0; t < OT; t++) {
        dkacc[t][0] = dkacc[t][1] = dkacc[t][2] = dkacc[t][3] = 0.0f;
        dvacc[t][0] = dvacc[t][1] = dvacc[t][2] = dvacc[t][3] = 0.0f;
    }
    const float c = scale * LOG2E;

    for (int s = 0; s < steps; s++) {
        const int stage = s & 1;
        if (s + 1 < steps) {
            issue(s + 1, stage ^ 1);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const T* qt = qs + stage * BWD_BQ * D;
        const T* dot = dos + stage * BWD_BQ * D;
        const float* l2 = s_lse + stage * BWD_BQ;
        const float* dl = s_delta + stage * BWD_BQ;
        const int* qlo = s_lo + stage * BWD_BQ;
        const int* qlim = s_lim + stage * BWD_BQ;

        // S^T = K_w Q^T and dP^T = V_w dO^T: 16 keys x BQ queries.
        float st[NT][4], dpt[NT][4];
        mma_abt2<T, D, NT, 2>(st, dpt, ks, vs, warp * 16, qt, dot, lane);

        // P^T = exp2(S^T c - lse2) masked; dS^T = P^T (dP^T - delta). Element (key r, query col).
#pragma unroll
        for (int t = 0; t < NT; t++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int col = t * 8 + tig * 2 + e;
                float lq = l2[col], dq = dl[col];
                int lo = qlo[col], lim = qlim[col];
#pragma unroll
                for (int r = 0; r < 2; r++) {
                    int j = key[r];
                    bool vis = j >= lo && j < lim;
                    float p = vis ? exp2f(st[t][r * 2 + e] * c - lq) : 0.0f;
                    st[t][r * 2 + e] = p;
                    dpt[t][r * 2 + e] = p * (dpt[t][r * 2 + e] - dq);
                }
            }
        }

        // dV += P^T dO and dK += dS^T Q, k-steps over the BQ queries.
        mma_pb2<T, D, BWD_BQ>(dvacc, dkacc, st, dpt, dot, qt, lane);
        __syncthreads();
    }

#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (key[r] >= total) continue;
        long long base = ((long long)key[r] * hkv + kvh) * D;
#pragma unroll
        for (int t = 0; t < OT; t++) {
            int col = t * 8 + tig * 2;
            if (dk != nullptr)
                *reinterpret_cast<uint32_t*>(dk + base + col) = pack2<T>(dkacc[t][r * 2] * scale, dkacc[t][r * 2 + 1] * scale);
            if (dv != nullptr)
                *reinterpret_cast<uint32_t*>(dv + base + col) = pack2<T>(dvacc[t][r * 2], dvacc[t][r * 2 + 1]);
        }
    }
}

// ------------------------------------------------------------------------------ backward: dQ

#define DQ_BQ 128
#define DQ_BK 64
#define DQ_THREADS 256

// Dynamic shared memory: Q [128][D], dO [128][D], K [2][64][D], V [2][64][D].
template <typename T, int D>
__device__ __forceinline__ void attn_bwd_dq_body(const T* __restrict__ q, const T* __restrict__ k,
                                                 const T* __restrict__ v, const T* __restrict__ dout,
                                                 const float* lse, const float* delta, const int* cu, int ncu,
                                                 int total, int hq, int hkv, int causal, float scale,
                                                 T* __restrict__ dq) {
    extern __shared__ uint4 smem_raw[];
    T* qs = reinterpret_cast<T*>(smem_raw);
    T* dos = qs + DQ_BQ * D;
    T* ks = dos + DQ_BQ * D;
    T* vs = ks + 2 * DQ_BK * D;
    constexpr int KC = D / 16;
    constexpr int NT = DQ_BK / 8;
    constexpr int OT = D / 8;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int g = lane >> 2, tig = lane & 3;
    const int h = blockIdx.y;
    const int kvh = h / (hq / hkv);
    const int i0 = blockIdx.x * DQ_BQ;
    const int last = min(i0 + DQ_BQ, total) - 1;

    int row[2] = {i0 + warp * 16 + g, i0 + warp * 16 + g + 8};
    int lo[2], lim[2];
    float l2[2], dl[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (row[r] < total) {
            int ds, de;
            doc_bounds(cu, ncu, row[r], total, ds, de);
            lo[r] = ds;
            lim[r] = causal ? row[r] + 1 : de;
            l2[r] = lse[(long long)h * total + row[r]] * LOG2E;
            dl[r] = delta[(long long)h * total + row[r]];
        } else {
            lo[r] = total;
            lim[r] = 0;
            l2[r] = 0.0f;
            dl[r] = 0.0f;
        }
    }
    int k_start, k_end;
    {
        int ds, de;
        doc_bounds(cu, ncu, i0, total, ds, de);
        k_start = ds;
        doc_bounds(cu, ncu, last, total, ds, de);
        k_end = causal ? last + 1 : de;
    }
    const int n_blocks = k_end > k_start ? (k_end - k_start + DQ_BK - 1) / DQ_BK : 0;

    load_tile<T, D, DQ_BQ, DQ_THREADS>(qs, q, i0, hq, h, total);
    load_tile<T, D, DQ_BQ, DQ_THREADS>(dos, dout, i0, hq, h, total);
    if (n_blocks > 0) {
        load_tile<T, D, DQ_BK, DQ_THREADS>(ks, k, k_start, hkv, kvh, total);
        load_tile<T, D, DQ_BK, DQ_THREADS>(vs, v, k_start, hkv, kvh, total);
    }
    cp_async_commit();

    float acc[OT][4];
#pragma unroll
    for (int t = 0; t < OT; t++) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = 0.0f;
    const float c = scale * LOG2E;

    for (int it = 0; it < n_blocks; it++) {
        const int j0 = k_start + it * DQ_BK;
        const int stage = it & 1;
        if (it + 1 < n_blocks) {
            load_tile<T, D, DQ_BK, DQ_THREADS>(ks + (stage ^ 1) * DQ_BK * D, k, j0 + DQ_BK, hkv, kvh, total);
            load_tile<T, D, DQ_BK, DQ_THREADS>(vs + (stage ^ 1) * DQ_BK * D, v, j0 + DQ_BK, hkv, kvh, total);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const T* kt = ks + stage * DQ_BK * D;
        const T* vt = vs + stage * DQ_BK * D;

        float s[NT][4], dp[NT][4];
        mma_abt2<T, D, NT, KC>(s, dp, qs, dos, warp * 16, kt, vt, lane);
#pragma unroll
        for (int r = 0; r < 2; r++) {
#pragma unroll
            for (int t = 0; t < NT; t++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int j = j0 + t * 8 + tig * 2 + e;
                    bool vis = j >= lo[r] && j < lim[r];
                    float p = vis ? exp2f(s[t][r * 2 + e] * c - l2[r]) : 0.0f;
                    s[t][r * 2 + e] = p * (dp[t][r * 2 + e] - dl[r]);
                }
            }
        }
        // dQ += dS K, k-steps over the 64 keys.
        mma_pb<T, D, DQ_BK>(acc, s, kt, lane);
        __syncthreads();
    }

#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (row[r] >= total) continue;
        T* drow = dq + ((long long)row[r] * hq + h) * D;
#pragma unroll
        for (int t = 0; t < OT; t++) {
            *reinterpret_cast<uint32_t*>(drow + t * 8 + tig * 2) = pack2<T>(acc[t][r * 2] * scale, acc[t][r * 2 + 1] * scale);
        }
    }
}

// ------------------------------------------------------------------------------ simple kernels

// One warp per (query row t, head h): online softmax over the visible keys, fp32 CUDA cores.
template <typename T>
__device__ void attn_fwd_simple(const T* q, const T* k, const T* v, const int* cu, int ncu, int total, int hq, int hkv,
                                int d, int causal, float scale, T* out, float* lse) {
    long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (w >= (long long)total * hq) return;
    int t = (int)(w / hq);
    int h = (int)(w % hq);
    int kvh = h / (hq / hkv);
    int ds, de;
    doc_bounds(cu, ncu, t, total, ds, de);
    int end = causal ? t + 1 : de;
    float qv[SIMPLE_PER_LANE], acc[SIMPLE_PER_LANE];
#pragma unroll
    for (int i = 0; i < SIMPLE_PER_LANE; i++) {
        int e = lane + i * 32;
        qv[i] = e < d ? to_f(q[w * d + e]) * scale : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int j = ds; j < end; j++) {
        simple_fwd_key<T>(qv, k + ((long long)j * hkv + kvh) * d, v + ((long long)j * hkv + kvh) * d, d, lane, m, l,
                          acc);
    }
    float inv = 1.0f / l;
#pragma unroll
    for (int i = 0; i < SIMPLE_PER_LANE; i++) {
        int e = lane + i * 32;
        if (e < d) out[w * d + e] = from_f<T>(acc[i] * inv);
    }
    if (lse != nullptr && lane == 0) lse[(long long)h * total + t] = m + logf(l);
}

// dQ: one warp per (t, h), walking the keys t sees.
template <typename T>
__device__ void attn_bwd_dq_simple(const T* q, const T* k, const T* v, const T* dout, const float* lse,
                                   const float* delta, const int* cu, int ncu, int total, int hq, int hkv, int d,
                                   int causal, float scale, T* dq) {
    long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (w >= (long long)total * hq) return;
    int t = (int)(w / hq);
    int h = (int)(w % hq);
    int kvh = h / (hq / hkv);
    int ds, de;
    doc_bounds(cu, ncu, t, total, ds, de);
    int end = causal ? t + 1 : de;
    float lt = lse[(long long)h * total + t];
    float dl = delta[(long long)h * total + t];
    float qv[SIMPLE_PER_LANE], gv[SIMPLE_PER_LANE], acc[SIMPLE_PER_LANE];
#pragma unroll
    for (int i = 0; i < SIMPLE_PER_LANE; i++) {
        int e = lane + i * 32;
        qv[i] = e < d ? to_f(q[w * d + e]) * scale : 0.0f;
        gv[i] = e < d ? to_f(dout[w * d + e]) : 0.0f;
        acc[i] = 0.0f;
    }
    for (int j = ds; j < end; j++) {
        simple_dq_key<T>(qv, gv, k + ((long long)j * hkv + kvh) * d, v + ((long long)j * hkv + kvh) * d, d, lane, lt,
                         dl, acc);
    }
#pragma unroll
    for (int i = 0; i < SIMPLE_PER_LANE; i++) {
        int e = lane + i * 32;
        if (e < d) dq[w * d + e] = from_f<T>(acc[i] * scale);
    }
}

// dK, dV: one warp per (key j, kv head), walking the group's query heads and the queries that see j.
template <typename T>
__device__ void attn_bwd_dkdv_simple(const T* q, const T* k, const T* v, const T* dout, const float* lse,
                                     const float* delta, const int* cu, int ncu, int total, int hq, int hkv, int d,
                                     int causal, float scale, T* dk, T* dv) {
    long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (w >= (long long)total * hkv) return;
    int j = (int)(w / hkv);
    int kvh = (int)(w % hkv);
    int group = hq / hkv;
    int ds, de;
    doc_bounds(cu, ncu, j, total, ds, de);
    int first = causal ? j : ds;
    float kv[SIMPLE_PER_LANE], vv[SIMPLE_PER_LANE], ka[SIMPLE_PER_LANE], va[SIMPLE_PER_LANE];
#pragma unroll
    for (int i = 0; i < SIMPLE_PER_LANE; i++) {
        int e = lane + i * 32;
        kv[i] = e < d ? to_f(k[w * d + e]) : 0.0f;
        vv[i] = e < d ? to_f(v[w * d + e]) : 0.0f;
        ka[i] = 0.0f;
        va[i] = 0.0f;
    }
    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
        for (int t = first; t < de; t++) {
            const T* qr = q + ((long long)t * hq + h) * d;
            const T* gr = dout + ((long long)t * hq + h) * d;
            float sdot = 0.0f, pdot = 0.0f;
#pragma unroll
            for (int i = 0; i < SIMPLE_PER_LANE; i++) {
                int e = lane + i * 32;
                if (e < d) {
                    sdot = fmaf(to_f(qr[e]) * scale, kv[i], sdot);
                    pdot = fmaf(to_f(gr[e]), vv[i], pdot);
                }
            }
            sdot = warp_sum(sdot);
            pdot = warp_sum(pdot);
            float p = expf(sdot - lse[(long long)h * total + t]);
            float ds_ = p * (pdot - delta[(long long)h * total + t]);
#pragma unroll
            for (int i = 0; i < SIMPLE_PER_LANE; i++) {
                int e = lane + i * 32;
                if (e < d) {
                    va[i] = fmaf(p, to_f(gr[e]), va[i]);
                    ka[i] = fmaf(ds_, to_f(qr[e]), ka[i]);
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < SIMPLE_PER_LANE; i++) {
        int e = lane + i * 32;
        if (e < d) {
            if (dk != nullptr) dk[w * d + e] = from_f<T>(ka[i] * scale);
            if (dv != nullptr) dv[w * d + e] = from_f<T>(va[i]);
        }
    }
}

// ------------------------------------------------------------------------------ entry points

#define ATTN_TC_ENTRIES(SUF, T, D)                                                                          \
    extern "C" __global__ void __launch_bounds__(FWD_THREADS, 1) attn_fwd_##SUF##_d##D(                    \
        const T* q, const T* k, const T* v, const int* cu, int ncu, int total, int hq, int hkv, int causal, \
        float scale, T* out, float* lse) {                                                                  \
        attn_fwd_body<T, D>(q, k, v, cu, ncu, total, hq, hkv, causal, scale, out, lse);                     \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(BWD_THREADS, 1) attn_bwd_dkdv_##SUF##_d##D(               \
        const T* q, const T* k, const T* v, const T* dout, const float* lse, const float* delta,            \
        const int* cu, int ncu, int total, int hq, int hkv, int causal, float scale, T* dk, T* dv) {        \
        attn_bwd_dkdv_body<T, D>(q, k, v, dout, lse, delta, cu, ncu, total, hq, hkv, causal, scale, dk, dv); \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(DQ_THREADS, 1) attn_bwd_dq_##SUF##_d##D(                  \
        const T* q, const T* k, const T* v, const T* dout, const float* lse, const float* delta,            \
        const int* cu, int ncu, int total, int hq, int hkv, int causal, float scale, T* dq) {               \
        attn_bwd_dq_body<T, D>(q, k, v, dout, lse, delta, cu, ncu, total, hq, hkv, causal, scale, dq);       \
    }
ATTN_TC_ENTRIES(bf16, __nv_bfloat16, 64)
ATTN_TC_ENTRIES(bf16, __nv_bfloat16, 128)
ATTN_TC_ENTRIES(f16, __half, 64)
ATTN_TC_ENTRIES(f16, __half, 128)

#define ATTN_SIMPLE_ENTRIES(SUF, T)                                                                         \
    extern "C" __global__ void attn_fwd_simple_##SUF(const T* q, const T* k, const T* v, const int* cu,    \
                                                     int ncu, int total, int hq, int hkv, int d, int causal,\
                                                     float scale, T* out, float* lse) {                     \
        attn_fwd_simple<T>(q, k, v, cu, ncu, total, hq, hkv, d, causal, scale, out, lse);                   \
    }                                                                                                       \
    extern "C" __global__ void attn_bwd_dq_simple_##SUF(const T* q, const T* k, const T* v, const T* dout, \
                                                        const float* lse, const float* delta, const int* cu,\
                                                        int ncu, int total, int hq, int hkv, int d,         \
                                                        int causal, float scale, T* dq) {                   \
        attn_bwd_dq_simple<T>(q, k, v, dout, lse, delta, cu, ncu, total, hq, hkv, d, causal, scale, dq);    \
    }                                                                                                       \
    extern "C" __global__ void attn_bwd_dkdv_simple_##SUF(const T* q, const T* k, const T* v,              \
                                                          const T* dout, const float* lse,                  \
                                                          const float* delta, const int* cu, int ncu,       \
                                                          int total, int hq, int hkv, int d, int causal,    \
                                                          float scale, T* dk, T* dv) {                      \
        attn_bwd_dkdv_simple<T>(q, k, v, dout, lse, delta, cu, ncu, total, hq, hkv, d, causal, scale, dk, dv); \
    }                                                                                                       \
    extern "C" __global__ void attn_bwd_delta_##SUF(const T* dout, const T* out, int total, int hq, int d, \
                                                    float* delta) {                                         \
        attn_bwd_delta<T>(dout, out, total, hq, d, delta);                                                  \
    }
PANOMNI_FOR_FLOAT_TYPES(ATTN_SIMPLE_ENTRIES)
