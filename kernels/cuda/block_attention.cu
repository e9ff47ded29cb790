// Block attention: the queries of one block against the keys and values of another, each token
// carrying a document id and a position, returning the per-row log-sum-exp so that ring attention
// can merge the blocks' results. The CUDA side of dev.panomni.tensor.ops.BlockAttentionKernels
// (CPU twin: tensor/.../cpu/CpuBlockAttentionKernels.java).
//
// Layouts: q, out, dout, dq [Tq, Hq, D]; k, v, dk, dv [Tk, Hkv, D]; lse, dlse, delta F32 [Hq, Tq].
// Query head h reads kv head h / (Hq / Hkv). Key j is visible to query i iff doc(i) == doc(j) and,
// when causal, pos(j) <= pos(i). A query that sees no key gets output 0 and lse -infinity, and adds
// nothing to any gradient (the backward treats lse -infinity as "sees nothing").
//
// blk_meta turns the four I32/I64 metadata vectors into one (doc, pos) pair per token and, per chunk
// of 32 tokens, the ranges [dmin, dmax] and [pmin, pmax]. A (query tile, key tile) pair is then
// classified from the ranges alone: NONE (disjoint documents, or every key after every query) is
// skipped without loading it; ALL (one document on both sides, every key at or before every query,
// both tiles inside the tensors) needs no per-element mask; SOME is masked element by element.
//
// The tensor-core kernels (bf16 or f16, head dim 64 or 128) are attention.cu's, with this mask:
//   blk_fwd_*       block = 128 query rows of one head (8 warps x 16 rows), key tiles of 64
//   blk_delta_*     delta[h, i] = dout[i, h] . out[i, h] - dlse[h, i]
//   blk_bwd_dkdv_*  block = 128 keys of one kv head, query steps of 64 (32 for D = 128) over every
//                   query head of its group in a fixed order: dK and dV are owned by one block each
//   blk_bwd_dq_*    block = 128 query rows of one head, walking the key tiles; owns its dQ rows
// Other head dims and f32 run the simple kernels (one warp per row, fp32 CUDA cores). Every output
// element is written by one thread in a fixed order: the results are deterministic.
#include "flash_tiles.cuh"
#include "simple_attention.cuh"

#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

// ------------------------------------------------------------------------------ token metadata

// One token's document and position (16 bytes: one cp.async chunk).
struct alignas(16) BlkTok {
    long long doc, pos;
};

// Document and position ranges of a run of tokens.
struct alignas(16) BlkSpan {
    long long dmin, dmax, pmin, pmax;
};

#define BLK_CHUNK 32
enum : int { BLK_NONE = 0, BLK_ALL = 1, BLK_SOME = 2 };

__device__ __forceinline__ long long blk_read(const void* p, int is64, long long i) {
    return is64 ? ((const long long*)p)[i] : (long long)((const int*)p)[i];
}

__device__ __forceinline__ bool blk_sees(const BlkTok& q, const BlkTok& k, int causal) {
    return q.doc == k.doc && (!causal || k.pos <= q.pos);
}

// The ranges of tokens [t0, min(t0 + rows, total)) from the chunk ranges; t0 < total.
__device__ __forceinline__ BlkSpan blk_span(const BlkSpan* spans, int t0, int rows, int total) {
    int c0 = t0 / BLK_CHUNK;
    int c1 = (min(t0 + rows, total) - 1) / BLK_CHUNK;
    BlkSpan r = spans[c0];
    for (int c = c0 + 1; c <= c1; c++) {
        BlkSpan x = spans[c];
        r.dmin = min(r.dmin, x.dmin);
        r.dmax = max(r.dmax, x.dmax);
        r.pmin = min(r.pmin, x.pmin);
        r.pmax = max(r.pmax, x.pmax);
    }
    return r;
}

// Which pairs of a query run and a key run are visible. `whole`: both runs fill their tiles (no
// padding rows that would need masking), a condition of BLK_ALL.
__device__ __forceinline__ int blk_classify(const BlkSpan& q, const BlkSpan& k, int causal, bool whole) {
    if (q.dmax < k.dmin || k.dmax < q.dmin) return BLK_NONE;
    if (causal && q.pmax < k.pmin) return BLK_NONE;
    if (whole && q.dmin == q.dmax && k.dmin == k.dmax && q.dmin == k.dmin && (!causal || q.pmin >= k.pmax)) {
        return BLK_ALL;
    }
    return BLK_SOME;
}

// blockIdx.y = 0: the queries, 1: the keys. One warp per chunk of 32 tokens: tok[t] = (doc, pos),
// span[chunk] = its ranges. Positions and documents are I32 (is64 = 0) or I64.
extern "C" __global__ void blk_meta(const void* qpos, int qpos64, const void* qdoc, int qdoc64, int tq,
                                    const void* kpos, int kpos64, const void* kdoc, int kdoc64, int tk,
                                    BlkTok* qtok, BlkSpan* qspan, BlkTok* ktok, BlkSpan* kspan) {
    const bool keys = blockIdx.y == 1;
    const void* pos = keys ? kpos : qpos;
    const void* doc = keys ? kdoc : qdoc;
    const int pos64 = keys ? kpos64 : qpos64;
    const int doc64 = keys ? kdoc64 : qdoc64;
    const int n = keys ? tk : tq;
    BlkTok* tok = keys ? ktok : qtok;
    BlkSpan* span = keys ? kspan : qspan;
    const int chunk = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (chunk * BLK_CHUNK >= n) return;   // the whole warp
    const int t = chunk * BLK_CHUNK + lane;
    const int at = t < n ? t : chunk * BLK_CHUNK;   // lanes past the end repeat the chunk's first token
    BlkTok me;
    me.doc = blk_read(doc, doc64, at);
    me.pos = blk_read(pos, pos64, at);
    if (t < n) tok[t] = me;
    BlkSpan s = {me.doc, me.doc, me.pos, me.pos};
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        s.dmin = min(s.dmin, __shfl_xor_sync(0xffffffffu, s.dmin, o));
        s.dmax = max(s.dmax, __shfl_xor_sync(0xffffffffu, s.dmax, o));
        s.pmin = min(s.pmin, __shfl_xor_sync(0xffffffffu, s.pmin, o));
        s.pmax = max(s.pmax, __shfl_xor_sync(0xffffffffu, s.pmax, o));
    }
    if (lane == 0) span[chunk] = s;
}

// log2-domain lse of a row for the backward: rows that see no key (lse -inf) get +inf, so that
// every exp2(s - l2) of theirs is 0.
__device__ __forceinline__ float blk_lse2(float l) { return l == -INFINITY ? INFINITY : l * LOG2E; }

// ------------------------------------------------------------------------------ forward

// The tiled kernels' key pipeline (forward and dQ): the first key tile at or after jt that some
// query of the block (rows qrange) sees, with its class in cls; tiles when there is none.
template <int BK>
__device__ __forceinline__ int blk_next_key_tile(const BlkSpan& qrange, const BlkSpan* kspan, int jt, int tiles,
                                                 int tk, int causal, int& cls) {
    for (; jt < tiles; jt++) {
        cls = blk_classify(qrange, blk_span(kspan, jt * BK, BK, tk), causal, (jt + 1) * BK <= tk);
        if (cls != BLK_NONE) break;
    }
    return jt;
}

// Starts copying key tile jt (keys, values and their tokens) into pipeline stage `stage` of ks, vs
// and kmeta.
template <typename T, int D, int BK, int THREADS>
__device__ __forceinline__ void blk_issue_key_tile(T* ks, T* vs, BlkTok* kmeta, const T* __restrict__ k,
                                                   const T* __restrict__ v, const BlkTok* ktok, int jt, int stage,
                                                   int hkv, int kvh, int tk) {
    const int j0 = jt * BK;
    load_tile<T, D, BK, THREADS>(ks + stage * BK * D, k, j0, hkv, kvh, tk);
    load_tile<T, D, BK, THREADS>(vs + stage * BK * D, v, j0, hkv, kvh, tk);
    if (threadIdx.x < BK) {
        const int j = j0 + threadIdx.x;
        cp_async16(kmeta + stage * BK + threadIdx.x, ktok + (j < tk ? j : 0), j < tk ? 16 : 0);
    }
}

#define FWD_BQ 128
#define FWD_BK 64
#define FWD_THREADS 256

// Dynamic shared memory: Q [128][D], K [2][64][D], V [2][64][D], key metadata [2][64].
template <typename T, int D>
__device__ __forceinline__ void blk_fwd_body(const T* __restrict__ q, const T* __restrict__ k,
                                             const T* __restrict__ v, const BlkTok* qtok, const BlkSpan* qspan,
                                             const BlkTok* ktok, const BlkSpan* kspan, int tq, int tk, int hq,
                                             int hkv, int causal, float scale, T* __restrict__ out, float* lse) {
    extern __shared__ uint4 smem_raw[];
    T* qs = reinterpret_cast<T*>(smem_raw);
    T* ks = qs + FWD_BQ * D;
    T* vs = ks + 2 * FWD_BK * D;
    BlkTok* kmeta = reinterpret_cast<BlkTok*>(vs + 2 * FWD_BK * D);
    constexpr int NT = FWD_BK / 8;     // n-tiles of a logit block
    constexpr int OT = D / 8;          // n-tiles of the output
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int g = lane >> 2, tig = lane & 3;
    const int h = blockIdx.y;
    const int kvh = h / (hq / hkv);
    const int i0 = blockIdx.x * FWD_BQ;

    // This thread's two rows.
    const int row[2] = {i0 + warp * 16 + g, i0 + warp * 16 + g + 8};
    BlkTok qt[2];
#pragma unroll
    for (int r = 0; r < 2; r++) qt[r] = row[r] < tq ? qtok[row[r]] : BlkTok{0, 0};
    const BlkSpan qrange = blk_span(qspan, i0, FWD_BQ, tq);
    const int tiles = (tk + FWD_BK - 1) / FWD_BK;

    auto next_tile = [&](int jt, int& cls) {
        return blk_next_key_tile<FWD_BK>(qrange, kspan, jt, tiles, tk, causal, cls);
    };
    auto issue = [&](int jt, int stage) {
        blk_issue_key_tile<T, D, FWD_BK, FWD_THREADS>(ks, vs, kmeta, k, v, ktok, jt, stage, hkv, kvh, tk);
    };

    int cls = BLK_NONE;
    int jt = next_tile(0, cls);
    load_tile<T, D, FWD_BQ, FWD_THREADS>(qs, q, i0, hq, h, tq);
    if (jt < tiles) issue(jt, 0);
    cp_async_commit();

    float o[OT][4];
#pragma unroll
    for (int t = 0; t < OT; t++) o[t][0] = o[t][1] = o[t][2] = o[t][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY};
    float l[2] = {0.0f, 0.0f};
    const float c = scale * LOG2E;

    int stage = 0;
    while (jt < tiles) {
        int next_cls = BLK_NONE;
        const int next = next_tile(jt + 1, next_cls);
        if (next < tiles) {
            issue(next, stage ^ 1);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int j0 = jt * FWD_BK;
        const T* kt = ks + stage * FWD_BK * D;
        const T* vt = vs + stage * FWD_BK * D;
        const BlkTok* km = kmeta + stage * FWD_BK;

        // S = Q K^T for this warp's 16 rows and 64 keys.
        float s[NT][4];
        mma_abt<T, D, NT>(s, qs, warp * 16, kt, lane);

        // Scale to log2 units and mask (element (row r, key col) is s[t][r * 2 + e]).
#pragma unroll
        for (int t = 0; t < NT; t++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                bool vis0 = true, vis1 = true;
                if (cls != BLK_ALL) {
                    const int col = t * 8 + tig * 2 + e;
                    const BlkTok kk = km[col];
                    const bool in = j0 + col < tk;
                    vis0 = in && blk_sees(qt[0], kk, causal);
                    vis1 = in && blk_sees(qt[1], kk, causal);
                }
                s[t][e] = vis0 ? s[t][e] * c : -INFINITY;
                s[t][2 + e] = vis1 ? s[t][2 + e] * c : -INFINITY;
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
            const float m_new = fmaxf(m[r], mx);
            const float m_use = m_new == -INFINITY ? 0.0f : m_new;   // a row that has seen nothing yet
            const float alpha = exp2f(m[r] - m_use);
            float sum = 0.0f;
#pragma unroll
            for (int t = 0; t < NT; t++) {
                const float p0 = exp2f(s[t][r * 2] - m_use);
                const float p1 = exp2f(s[t][r * 2 + 1] - m_use);
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
        jt = next;
        cls = next_cls;
        stage ^= 1;
    }
    cp_async_wait<0>();

#pragma unroll
    for (int r = 0; r < 2; r++) {
        float lt = l[r];
        lt += __shfl_xor_sync(0xffffffffu, lt, 1);
        lt += __shfl_xor_sync(0xffffffffu, lt, 2);
        if (row[r] >= tq) continue;
        const float inv = lt > 0.0f ? 1.0f / lt : 0.0f;   // a row that saw no key: output 0
        T* orow = out + ((long long)row[r] * hq + h) * D;
#pragma unroll
        for (int t = 0; t < OT; t++) {
            *reinterpret_cast<uint32_t*>(orow + t * 8 + tig * 2) = pack2<T>(o[t][r * 2] * inv, o[t][r * 2 + 1] * inv);
        }
        if (lse != nullptr && tig == 0) {
            lse[(long long)h * tq + row[r]] = lt > 0.0f ? (m[r] + log2f(lt)) * LN2 : -INFINITY;
        }
    }
}

// ------------------------------------------------------------------------------ backward: delta

// delta[h, i] = sum_d dout[i, h, d] * out[i, h, d] - dlse[h, i] (dlse null: 0); one warp per (i, h).
// The dlse term is the log-sum-exp's own gradient: d lse_i / d s_ij = p_ij, so dS_ij = p_ij (dP_ij -
// delta_i) with this delta covers both outputs.
template <typename T, typename TO>
__device__ void blk_delta(const T* dout, const TO* out, const float* dlse, int tq, int hq, int d, float* delta) {
    const long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (w >= (long long)tq * hq) return;
    const long long i = w / hq;
    const int h = (int)(w % hq);
    const T* a = dout + w * d;
    const TO* b = out + w * d;
    float acc = 0.0f;
    for (int e = lane; e < d; e += 32) acc = fmaf(to_f(a[e]), to_f(b[e]), acc);
    acc = warp_sum(acc);
    if (lane == 0) {
        const long long at = (long long)h * tq + i;
        delta[at] = acc - (dlse != nullptr ? dlse[at] : 0.0f);
    }
}

// ------------------------------------------------------------------------------ backward: dK, dV

#define BWD_BK 128     // keys per dK/dV block (8 warps x 16)
#define BWD_THREADS 256

// Queries per step: 64, or 32 for D = 128, where 64 would not fit the registers.
template <int D> struct BlkBwdTile { static constexpr int BQ = D >= 128 ? 32 : 64; };

// Dynamic shared memory: K [128][D], V [128][D], Q [2][BQ][D], dO [2][BQ][D], then per query of
// each stage: its metadata (BlkTok), lse, delta (float), all copied by cp.async.
template <typename T, int D>
__device__ __forceinline__ void blk_bwd_dkdv_body(const T* __restrict__ q, const T* __restrict__ k,
                                                  const T* __restrict__ v, const T* __restrict__ dout,
                                                  const float* lse, const float* delta, const BlkTok* qtok,
                                                  const BlkSpan* qspan, const BlkTok* ktok, const BlkSpan* kspan,
                                                  int tq, int tk, int hq, int hkv, int causal, float scale,
                                                  T* __restrict__ dk, T* __restrict__ dv) {
    constexpr int BQ = BlkBwdTile<D>::BQ;
    extern __shared__ uint4 smem_raw[];
    T* ks = reinterpret_cast<T*>(smem_raw);
    T* vs = ks + BWD_BK * D;
    T* qs = vs + BWD_BK * D;
    T* dos = qs + 2 * BQ * D;
    BlkTok* s_tok = reinterpret_cast<BlkTok*>(dos + 2 * BQ * D);   // [2][BQ]
    float* s_lse = reinterpret_cast<float*>(s_tok + 2 * BQ);
    float* s_delta = s_lse + 2 * BQ;
    constexpr int NT = BQ / 8;   // n-tiles over queries
    constexpr int OT = D / 8;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int g = lane >> 2, tig = lane & 3;
    const int kvh = blockIdx.y;
    const int group = hq / hkv;
    const int j0 = blockIdx.x * BWD_BK;
    const BlkSpan krange = blk_span(kspan, j0, BWD_BK, tk);
    const int qblocks = (tq + BQ - 1) / BQ;
    const int steps = qblocks * group;

    // This thread's two keys (rows of the transposed products).
    const int key[2] = {j0 + warp * 16 + g, j0 + warp * 16 + g + 8};
    BlkTok kt[2];
#pragma unroll
    for (int r = 0; r < 2; r++) kt[r] = key[r] < tk ? ktok[key[r]] : BlkTok{0, 0};

    // Step s: query head kvh * group + s / qblocks, query block s % qblocks. The first step at or
    // after s whose query block sees some key of this block, and its class.
    auto next_step = [&](int s, int& cls) {
        for (; s < steps; s++) {
            const int b = s % qblocks;
            cls = blk_classify(blk_span(qspan, b * BQ, BQ, tq), krange, causal, (b + 1) * BQ <= tq);
            if (cls != BLK_NONE) break;
        }
        return s;
    };
    auto issue = [&](int s, int stage) {
        const int h = kvh * group + s / qblocks;
        const int i0 = (s % qblocks) * BQ;
        load_tile<T, D, BQ, BWD_THREADS>(qs + stage * BQ * D, q, i0, hq, h, tq);
        load_tile<T, D, BQ, BWD_THREADS>(dos + stage * BQ * D, dout, i0, hq, h, tq);
        for (int r = threadIdx.x; r < BQ; r += BWD_THREADS) {
            const int t = i0 + r;
            const bool in = t < tq;   // rows past the end read as zeros and are masked below
            const long long at = in ? (long long)h * tq + t : 0;
            cp_async16(s_tok + stage * BQ + r, qtok + (in ? t : 0), in ? 16 : 0);
            cp_async4(s_lse + stage * BQ + r, lse + at, in ? 4 : 0);
            cp_async4(s_delta + stage * BQ + r, delta + at, in ? 4 : 0);
        }
    };

    load_tile<T, D, BWD_BK, BWD_THREADS>(ks, k, j0, hkv, kvh, tk);
    load_tile<T, D, BWD_BK, BWD_THREADS>(vs, v, j0, hkv, kvh, tk);
    int cls = BLK_NONE;
    int s = next_step(0, cls);
    if (s < steps) issue(s, 0);
    cp_async_commit();

    float dkacc[OT][4], dvacc[OT][4];
#pragma unroll
    for (int t = 0; t < OT; t++) {
        dkacc[t][0] = dkacc[t][1] = dkacc[t][2] = dkacc[t][3] = 0.0f;
        dvacc[t][0] = dvacc[t][1] = dvacc[t][2] = dvacc[t][3] = 0.0f;
    }
    const float c = scale * LOG2E;

    int stage = 0;
    while (s < steps) {
        int next_cls = BLK_NONE;
        const int next = next_step(s + 1, next_cls);
        if (next < steps) {
            issue(next, stage ^ 1);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int i0 = (s % qblocks) * BQ;
        const T* qt = qs + stage * BQ * D;
        const T* dot = dos + stage * BQ * D;
        const BlkTok* qm = s_tok + stage * BQ;
        const float* ql = s_lse + stage * BQ;
        const float* dl = s_delta + stage * BQ;

        // S^T = K_w Q^T and dP^T = V_w dO^T: 16 keys x BQ queries.
        float st[NT][4], dpt[NT][4];
        mma_abt2<T, D, NT, 2>(st, dpt, ks, vs, warp * 16, qt, dot, lane);

        // P^T = exp2(S^T c - lse2) masked; dS^T = P^T (dP^T - delta). Element (key r, query col).
#pragma unroll
        for (int t = 0; t < NT; t++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const int col = t * 8 + tig * 2 + e;
                const float lq = blk_lse2(ql[col]);
                const float dq = dl[col];
                bool vis[2] = {true, true};
                if (cls != BLK_ALL) {
                    const BlkTok qq = qm[col];
                    const bool live = i0 + col < tq;
                    vis[0] = live && blk_sees(qq, kt[0], causal);
                    vis[1] = live && blk_sees(qq, kt[1], causal);
                }
#pragma unroll
                for (int r = 0; r < 2; r++) {
                    const float p = vis[r] ? exp2f(st[t][r * 2 + e] * c - lq) : 0.0f;
                    st[t][r * 2 + e] = p;
                    dpt[t][r * 2 + e] = p * (dpt[t][r * 2 + e] - dq);
                }
            }
        }

        // dV += P^T dO and dK += dS^T Q, k-steps over the BQ queries.
        mma_pb2<T, D, BQ>(dvacc, dkacc, st, dpt, dot, qt, lane);
        __syncthreads();
        s = next;
        cls = next_cls;
        stage ^= 1;
    }
    cp_async_wait<0>();

#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (key[r] >= tk) continue;
        const long long base = ((long long)key[r] * hkv + kvh) * D;
#pragma unroll
        for (int t = 0; t < OT; t++) {
            const int col = t * 8 + tig * 2;
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

// Dynamic shared memory: Q [128][D], dO [128][D], K [2][64][D], V [2][64][D], key metadata [2][64].
template <typename T, int D>
__device__ __forceinline__ void blk_bwd_dq_body(const T* __restrict__ q, const T* __restrict__ k,
                                                const T* __restrict__ v, const T* __restrict__ dout,
                                                const float* lse, const float* delta, const BlkTok* qtok,
                                                const BlkSpan* qspan, const BlkTok* ktok, const BlkSpan* kspan,
                                                int tq, int tk, int hq, int hkv, int causal, float scale,
                                                T* __restrict__ dq) {
    extern __shared__ uint4 smem_raw[];
    T* qs = reinterpret_cast<T*>(smem_raw);
    T* dos = qs + DQ_BQ * D;
    T* ks = dos + DQ_BQ * D;
    T* vs = ks + 2 * DQ_BK * D;
    BlkTok* kmeta = reinterpret_cast<BlkTok*>(vs + 2 * DQ_BK * D);
    constexpr int KC = D / 16;
    constexpr int NT = DQ_BK / 8;
    constexpr int OT = D / 8;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int g = lane >> 2, tig = lane & 3;
    const int h = blockIdx.y;
    const int kvh = h / (hq / hkv);
    const int i0 = blockIdx.x * DQ_BQ;

    const int row[2] = {i0 + warp * 16 + g, i0 + warp * 16 + g + 8};
    BlkTok qt[2];
    float l2[2], dl[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const bool in = row[r] < tq;
        qt[r] = in ? qtok[row[r]] : BlkTok{0, 0};
        l2[r] = in ? blk_lse2(lse[(long long)h * tq + row[r]]) : INFINITY;
        dl[r] = in ? delta[(long long)h * tq + row[r]] : 0.0f;
    }
    const BlkSpan qrange = blk_span(qspan, i0, DQ_BQ, tq);
    const int tiles = (tk + DQ_BK - 1) / DQ_BK;

    auto next_tile = [&](int jt, int& cls) {
        return blk_next_key_tile<DQ_BK>(qrange, kspan, jt, tiles, tk, causal, cls);
    };
    auto issue = [&](int jt, int stage) {
        blk_issue_key_tile<T, D, DQ_BK, DQ_THREADS>(ks, vs, kmeta, k, v, ktok, jt, stage, hkv, kvh, tk);
    };

    int cls = BLK_NONE;
    int jt = next_tile(0, cls);
    load_tile<T, D, DQ_BQ, DQ_THREADS>(qs, q, i0, hq, h, tq);
    load_tile<T, D, DQ_BQ, DQ_THREADS>(dos, dout, i0, hq, h, tq);
    if (jt < tiles) issue(jt, 0);
    cp_async_commit();

    float acc[OT][4];
#pragma unroll
    for (int t = 0; t < OT; t++) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = 0.0f;
    const float c = scale * LOG2E;

    int stage = 0;
    while (jt < tiles) {
        int next_cls = BLK_NONE;
        const int next = next_tile(jt + 1, next_cls);
        if (next < tiles) {
            issue(next, stage ^ 1);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int j0 = jt * DQ_BK;
        const T* kt = ks + stage * DQ_BK * D;
        const T* vt = vs + stage * DQ_BK * D;
        const BlkTok* km = kmeta + stage * DQ_BK;

        float s[NT][4], dp[NT][4];
        mma_abt2<T, D, NT, KC>(s, dp, qs, dos, warp * 16, kt, vt, lane);
        // dS = P (dP - delta), masked.
#pragma unroll
        for (int t = 0; t < NT; t++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                bool vis[2] = {true, true};
                if (cls != BLK_ALL) {
                    const int col = t * 8 + tig * 2 + e;
                    const BlkTok kk = km[col];
                    const bool in = j0 + col < tk;
                    vis[0] = in && blk_sees(qt[0], kk, causal);
                    vis[1] = in && blk_sees(qt[1], kk, causal);
                }
#pragma unroll
                for (int r = 0; r < 2; r++) {
                    const float p = vis[r] ? exp2f(s[t][r * 2 + e] * c - l2[r]) : 0.0f;
                    s[t][r * 2 + e] = p * (dp[t][r * 2 + e] - dl[r]);
                }
            }
        }
        // dQ += dS K, k-steps over the 64 keys.
        mma_pb<T, D, DQ_BK>(acc, s, kt, lane);
        __syncthreads();
        jt = next;
        cls = next_cls;
        stage ^= 1;
    }
    cp_async_wait<0>();

#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (row[r] >= tq) continue;
        T* drow = dq + ((long long)row[r] * hq + h) * D;
#pragma unroll
        for (int t = 0; t < OT; t++) {
            *reinterpret_cast<uint32_t*>(drow + t * 8 + tig * 2) = pack2<T>(acc[t][r * 2] * scale, acc[t][r * 2 + 1] * scale);
        }
    }
}

// ------------------------------------------------------------------------------ simple kernels

// One warp per (query i, head h): online softmax over the visible keys, fp32 CUDA cores. Key chunks
// whose ranges rule the query out are skipped whole.
template <typename T>
__device__ void blk_fwd_simple(const T* q, const T* k, const T* v, const BlkTok* qtok, const BlkTok* ktok,
                               const BlkSpan* kspan, int tq, int tk, int hq, int hkv, int d, int causal, float scale,
                               T* out, float* lse) {
    const long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (w >= (long long)tq * hq) return;
    const int i = (int)(w / hq);
    const int h = (int)(w % hq);
    const int kvh = h / (hq / hkv);
    const BlkTok me = qtok[i];
    const BlkSpan mine = {me.doc, me.doc, me.pos, me.pos};
    float qv[SIMPLE_PER_LANE], acc[SIMPLE_PER_LANE];
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        qv[x] = e < d ? to_f(q[w * d + e]) * scale : 0.0f;
        acc[x] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int c0 = 0; c0 < tk; c0 += BLK_CHUNK) {
        if (blk_classify(mine, kspan[c0 / BLK_CHUNK], causal, false) == BLK_NONE) continue;
        const int c1 = min(c0 + BLK_CHUNK, tk);
        for (int j = c0; j < c1; j++) {
            if (!blk_sees(me, ktok[j], causal)) continue;
            simple_fwd_key<T>(qv, k + ((long long)j * hkv + kvh) * d, v + ((long long)j * hkv + kvh) * d, d, lane, m,
                              l, acc);
        }
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        if (e < d) out[w * d + e] = from_f<T>(acc[x] * inv);
    }
    if (lse != nullptr && lane == 0) lse[(long long)h * tq + i] = l > 0.0f ? m + logf(l) : -INFINITY;
}

// dQ: one warp per (i, h), walking the keys i sees.
template <typename T>
__device__ void blk_bwd_dq_simple(const T* q, const T* k, const T* v, const T* dout, const float* lse,
                                  const float* delta, const BlkTok* qtok, const BlkTok* ktok, const BlkSpan* kspan,
                                  int tq, int tk, int hq, int hkv, int d, int causal, float scale, T* dq) {
    const long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (w >= (long long)tq * hq) return;
    const int i = (int)(w / hq);
    const int h = (int)(w % hq);
    const int kvh = h / (hq / hkv);
    const BlkTok me = qtok[i];
    const BlkSpan mine = {me.doc, me.doc, me.pos, me.pos};
    const float lt = lse[(long long)h * tq + i];
    const float dl = delta[(long long)h * tq + i];
    float qv[SIMPLE_PER_LANE], gv[SIMPLE_PER_LANE], acc[SIMPLE_PER_LANE];
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        qv[x] = e < d ? to_f(q[w * d + e]) * scale : 0.0f;
        gv[x] = e < d ? to_f(dout[w * d + e]) : 0.0f;
        acc[x] = 0.0f;
    }
    const int end = lt == -INFINITY ? 0 : tk;   // a row that sees no key has no gradient
    for (int c0 = 0; c0 < end; c0 += BLK_CHUNK) {
        if (blk_classify(mine, kspan[c0 / BLK_CHUNK], causal, false) == BLK_NONE) continue;
        const int c1 = min(c0 + BLK_CHUNK, tk);
        for (int j = c0; j < c1; j++) {
            if (!blk_sees(me, ktok[j], causal)) continue;
            simple_dq_key<T>(qv, gv, k + ((long long)j * hkv + kvh) * d, v + ((long long)j * hkv + kvh) * d, d, lane,
                             lt, dl, acc);
        }
    }
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        if (e < d) dq[w * d + e] = from_f<T>(acc[x] * scale);
    }
}

// dK, dV: one warp per (key j, kv head), walking the group's query heads and the queries that see j.
template <typename T>
__device__ void blk_bwd_dkdv_simple(const T* q, const T* k, const T* v, const T* dout, const float* lse,
                                    const float* delta, const BlkTok* qtok, const BlkSpan* qspan, const BlkTok* ktok,
                                    int tq, int tk, int hq, int hkv, int d, int causal, float scale, T* dk, T* dv) {
    const long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (w >= (long long)tk * hkv) return;
    const int j = (int)(w / hkv);
    const int kvh = (int)(w % hkv);
    const int group = hq / hkv;
    const BlkTok me = ktok[j];
    const BlkSpan mine = {me.doc, me.doc, me.pos, me.pos};
    float kv[SIMPLE_PER_LANE], vv[SIMPLE_PER_LANE], ka[SIMPLE_PER_LANE], va[SIMPLE_PER_LANE];
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        kv[x] = e < d ? to_f(k[w * d + e]) : 0.0f;
        vv[x] = e < d ? to_f(v[w * d + e]) : 0.0f;
        ka[x] = 0.0f;
        va[x] = 0.0f;
    }
    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
        for (int c0 = 0; c0 < tq; c0 += BLK_CHUNK) {
            if (blk_classify(qspan[c0 / BLK_CHUNK], mine, causal, false) == BLK_NONE) continue;
            const int c1 = min(c0 + BLK_CHUNK, tq);
            for (int i = c0; i < c1; i++) {
                const float lt = lse[(long long)h * tq + i];
                if (lt == -INFINITY || !blk_sees(qtok[i], me, causal)) continue;
                const T* qr = q + ((long long)i * hq + h) * d;
                const T* gr = dout + ((long long)i * hq + h) * d;
                float sdot = 0.0f, pdot = 0.0f;
#pragma unroll
                for (int x = 0; x < SIMPLE_PER_LANE; x++) {
                    const int e = lane + x * 32;
                    if (e < d) {
                        sdot = fmaf(to_f(qr[e]) * scale, kv[x], sdot);
                        pdot = fmaf(to_f(gr[e]), vv[x], pdot);
                    }
                }
                sdot = warp_sum(sdot);
                pdot = warp_sum(pdot);
                const float p = expf(sdot - lt);
                const float ds = p * (pdot - delta[(long long)h * tq + i]);
#pragma unroll
                for (int x = 0; x < SIMPLE_PER_LANE; x++) {
                    const int e = lane + x * 32;
                    if (e < d) {
                        va[x] = fmaf(p, to_f(gr[e]), va[x]);
                        ka[x] = fmaf(ds, to_f(qr[e]), ka[x]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int x = 0; x < SIMPLE_PER_LANE; x++) {
        const int e = lane + x * 32;
        if (e < d) {
            if (dk != nullptr) dk[w * d + e] = from_f<T>(ka[x] * scale);
            if (dv != nullptr) dv[w * d + e] = from_f<T>(va[x]);
        }
    }
}

// ------------------------------------------------------------------------------ merge

// One warp per (i, h): with m = logaddexp(accLse, lse), accOut = accOut exp(accLse - m) + out exp(lse
// - m) and accLse = m. lse -inf (the block saw nothing) leaves the row as it is; accLse -inf takes
// the block's row as it is (whatever accOut held).
template <typename T>
__device__ void blk_merge(float* acc_out, float* acc_lse, const T* out, const float* lse, int tq, int hq, int d) {
    const long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (w >= (long long)tq * hq) return;
    const long long i = w / hq;
    const int h = (int)(w % hq);
    const long long at = (long long)h * tq + i;
    const float la = acc_lse[at];
    const float lb = lse[at];
    if (lb == -INFINITY) return;   // the whole warp
    float* a = acc_out + w * d;
    const T* b = out + w * d;
    float lnew;
    if (la == -INFINITY) {
        lnew = lb;
        for (int e = lane; e < d; e += 32) a[e] = to_f(b[e]);
    } else {
        const float mx = fmaxf(la, lb);
        lnew = mx + log1pf(expf(-fabsf(la - lb)));
        const float wa = expf(la - lnew);
        const float wb = expf(lb - lnew);
        for (int e = lane; e < d; e += 32) a[e] = fmaf(a[e], wa, wb * to_f(b[e]));
    }
    __syncwarp();   // every lane has read acc_lse
    if (lane == 0) acc_lse[at] = lnew;
}

// ------------------------------------------------------------------------------ entry points

#define BLK_TC_ENTRIES(SUF, T, D)                                                                           \
    extern "C" __global__ void __launch_bounds__(FWD_THREADS, 1) blk_fwd_##SUF##_d##D(                     \
        const T* q, const T* k, const T* v, const BlkTok* qtok, const BlkSpan* qspan, const BlkTok* ktok,   \
        const BlkSpan* kspan, int tq, int tk, int hq, int hkv, int causal, float scale, T* out, float* lse) { \
        blk_fwd_body<T, D>(q, k, v, qtok, qspan, ktok, kspan, tq, tk, hq, hkv, causal, scale, out, lse);     \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(BWD_THREADS, 1) blk_bwd_dkdv_##SUF##_d##D(                \
        const T* q, const T* k, const T* v, const T* dout, const float* lse, const float* delta,            \
        const BlkTok* qtok, const BlkSpan* qspan, const BlkTok* ktok, const BlkSpan* kspan, int tq, int tk, \
        int hq, int hkv, int causal, float scale, T* dk, T* dv) {                                           \
        blk_bwd_dkdv_body<T, D>(q, k, v, dout, lse, delta, qtok, qspan, ktok, kspan, tq, tk, hq, hkv, causal, \
                                scale, dk, dv);                                                             \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(DQ_THREADS, 1) blk_bwd_dq_##SUF##_d##D(                   \
        const T* q, const T* k, const T* v, const T* dout, const float* lse, const float* delta,            \
        const BlkTok* qtok, const BlkSpan* qspan, const BlkTok* ktok, const BlkSpan* kspan, int tq, int tk, \
        int hq, int hkv, int causal, float scale, T* dq) {                                                  \
        blk_bwd_dq_body<T, D>(q, k, v, dout, lse, delta, qtok, qspan, ktok, kspan, tq, tk, hq, hkv, causal, \
                              scale, dq);                                                                   \
    }
BLK_TC_ENTRIES(bf16, __nv_bfloat16, 64)
BLK_TC_ENTRIES(bf16, __nv_bfloat16, 128)
BLK_TC_ENTRIES(f16, __half, 64)
BLK_TC_ENTRIES(f16, __half, 128)

#define BLK_SIMPLE_ENTRIES(SUF, T)                                                                          \
    extern "C" __global__ void blk_fwd_simple_##SUF(const T* q, const T* k, const T* v, const BlkTok* qtok, \
                                                    const BlkTok* ktok, const BlkSpan* kspan, int tq, int tk, \
                                                    int hq, int hkv, int d, int causal, float scale, T* out, \
                                                    float* lse) {                                           \
        blk_fwd_simple<T>(q, k, v, qtok, ktok, kspan, tq, tk, hq, hkv, d, causal, scale, out, lse);         \
    }                                                                                                       \
    extern "C" __global__ void blk_bwd_dq_simple_##SUF(const T* q, const T* k, const T* v, const T* dout,  \
                                                       const float* lse, const float* delta,                \
                                                       const BlkTok* qtok, const BlkTok* ktok,              \
                                                       const BlkSpan* kspan, int tq, int tk, int hq, int hkv, \
                                                       int d, int causal, float scale, T* dq) {             \
        blk_bwd_dq_simple<T>(q, k, v, dout, lse, delta, qtok, ktok, kspan, tq, tk, hq, hkv, d, causal, scale, dq); \
    }                                                                                                       \
    extern "C" __global__ void blk_bwd_dkdv_simple_##SUF(const T* q, const T* k, const T* v, const T* dout, \
                                                         const float* lse, const float* delta,              \
                                                         const BlkTok* qtok, const BlkSpan* qspan,          \
                                                         const BlkTok* ktok, int tq, int tk, int hq, int hkv, \
                                                         int d, int causal, float scale, T* dk, T* dv) {    \
        blk_bwd_dkdv_simple<T>(q, k, v, dout, lse, delta, qtok, qspan, ktok, tq, tk, hq, hkv, d, causal, scale, \
                               dk, dv);                                                                     \
    }                                                                                                       \
    extern "C" __global__ void blk_merge_##SUF(float* acc_out, float* acc_lse, const T* out, const float* lse, \
                                               int tq, int hq, int d) {                                     \
        blk_merge<T>(acc_out, acc_lse, out, lse, tq, hq, d);                                                \
    }
PANOMNI_FOR_FLOAT_TYPES(BLK_SIMPLE_ENTRIES)

// blk_delta_<dout>_<out>: out may be stored in another dtype than dout (ring attention's merged out
// is F32 while the gradients are in q's dtype).
#define BLK_DELTA_ENTRY(SUF, T, SUFO, TO)                                                                   \
    extern "C" __global__ void blk_delta_##SUF##_##SUFO(const T* dout, const TO* out, const float* dlse,   \
                                                        int tq, int hq, int d, float* delta) {              \
        blk_delta<T, TO>(dout, out, dlse, tq, hq, d, delta);                                                \
    }
#define BLK_DELTA_ENTRIES(SUF, T) \
    BLK_DELTA_ENTRY(SUF, T, f32, float) BLK_DELTA_ENTRY(SUF, T, bf16, __nv_bfloat16) BLK_DELTA_ENTRY(SUF, T, f16, __half)
PANOMNI_FOR_FLOAT_TYPES(BLK_DELTA_ENTRIES)
