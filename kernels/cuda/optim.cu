// Multi-tensor optimizer steps and gradient norms: the CUDA side of
// dev.panomni.tensor.ops.OptimizerKernels and GradNormKernels (CPU twins: tensor/.../cpu/
// CpuOptimizerKernels.java, CpuGradNormKernels.java).
//
// One launch covers a whole list of tensors: the host uploads a table of per-tensor entries
// (pointers, sizes, dtypes, hyper-parameters) and a prefix sum of each tensor's chunk count; block b
// finds its tensor by binary search in that prefix and updates CHUNK elements of it. Arithmetic is
// the CPU's, operation for operation (fmaf where the CPU fuses, IEEE sqrt and division), so results
// match it to the last bit or nearly.
#include "common.cuh"
#include <stddef.h>

#define CHUNK 8192
#define THREADS 256
#define UNROLL 4

// Which entry block `b` works on: the t with chunk_start[t] <= b < chunk_start[t + 1].
__device__ __forceinline__ int find_tensor(const long long* chunk_start, int count, long long b) {
    __shared__ int found;
    if (threadIdx.x == 0) {
        int lo = 0, hi = count - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >> 1;
            if (chunk_start[mid] <= b) lo = mid; else hi = mid - 1;
        }
        found = lo;
    }
    __syncthreads();
    return found;
}

// ------------------------------------------------------------------------------------ AdamW

struct AdamWEntry {            // 96 bytes; host packing in OptimLaunchers.ADAMW_*
    long long param;           // any float dtype
    long long grad;            // any float dtype
    long long exp_avg;         // float
    long long exp_avg_sq;      // float
    long long master;          // float, or 0 when the parameter itself is F32
    long long n;
    int param_dtype;
    int grad_dtype;
    float beta1, beta2, one_minus_beta1, one_minus_beta2;
    float eps, decay, step_size, inv_bc2_sqrt;
    long long pad;
};

// UNROLL elements per thread per step: every load of the group is issued before the first store,
// so several loads are in flight (stores through these pointers would otherwise order them).
extern "C" __global__ void __launch_bounds__(THREADS) adamw_multi(const AdamWEntry* __restrict__ entries,
                                                                  const long long* __restrict__ chunk_start, int count) {
    int t = find_tensor(chunk_start, count, blockIdx.x);
    const AdamWEntry e = entries[t];
    float* __restrict__ m = (float*)e.exp_avg;
    float* __restrict__ v = (float*)e.exp_avg_sq;
    float* __restrict__ master = (float*)e.master;
    long long start = (blockIdx.x - chunk_start[t]) * (long long)CHUNK;
    long long end = min(e.n, start + CHUNK);
    for (long long base = start + threadIdx.x; base < end; base += THREADS * UNROLL) {
        float g[UNROLL] = {}, p[UNROLL] = {}, mi[UNROLL] = {}, vi[UNROLL] = {};
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            long long i = base + u * THREADS;
            if (i < end) {
                g[u] = load_f((const void*)e.grad, e.grad_dtype, i);
                p[u] = master ? master[i] : load_f((const void*)e.param, e.param_dtype, i);
                mi[u] = m[i];
                vi[u] = v[i];
            }
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            long long i = base + u * THREADS;
            if (i < end) {
                float mu = fmaf(g[u], e.one_minus_beta1, mi[u] * e.beta1);
                float vu = fmaf(g[u] * g[u], e.one_minus_beta2, vi[u] * e.beta2);
                float denom = fmaf(sqrtf(vu), e.inv_bc2_sqrt, e.eps);
                float pu = fmaf(mu / denom, -e.step_size, p[u] * e.decay);
                m[i] = mu;
                v[i] = vu;
                if (master) master[i] = pu;
                store_f((void*)e.param, e.param_dtype, i, pu);
            }
        }
    }
}

static_assert(sizeof(AdamWEntry) == 96 && offsetof(AdamWEntry, param_dtype) == 48
              && offsetof(AdamWEntry, beta1) == 56 && offsetof(AdamWEntry, inv_bc2_sqrt) == 84,
              "AdamWEntry layout must match OptimLaunchers");

// ------------------------------------------------------------------------------------ SGD

struct SgdEntry {              // 72 bytes; host packing in OptimLaunchers.SGD_*
    long long param;
    long long grad;
    long long buffer;          // float momentum buffer, or 0 when momentum is 0
    long long master;          // float, or 0
    long long n;
    int param_dtype;
    int grad_dtype;
    float lr, weight_decay, momentum, keep;   // keep = 1 - dampening
    int flags;                 // 1: use buffer, 2: first step, 4: nesterov
    int pad;
};

extern "C" __global__ void __launch_bounds__(THREADS) sgd_multi(const SgdEntry* __restrict__ entries,
                                                                const long long* __restrict__ chunk_start, int count) {
    int t = find_tensor(chunk_start, count, blockIdx.x);
    const SgdEntry e = entries[t];
    float* __restrict__ buf = (float*)e.buffer;
    float* __restrict__ master = (float*)e.master;
    bool use_buffer = e.flags & 1, first = e.flags & 2, nesterov = e.flags & 4;
    long long start = (blockIdx.x - chunk_start[t]) * (long long)CHUNK;
    long long end = min(e.n, start + CHUNK);
    for (long long base = start + threadIdx.x; base < end; base += THREADS * UNROLL) {
        float g[UNROLL] = {}, p[UNROLL] = {}, b[UNROLL] = {};
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            long long i = base + u * THREADS;
            if (i < end) {
                g[u] = load_f((const void*)e.grad, e.grad_dtype, i);
                p[u] = master ? master[i] : load_f((const void*)e.param, e.param_dtype, i);
                b[u] = use_buffer && !first ? buf[i] : 0.0f;
            }
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            long long i = base + u * THREADS;
            if (i < end) {
                float gu = e.weight_decay != 0.0f ? fmaf(p[u], e.weight_decay, g[u]) : g[u];
                float d = gu;
                if (use_buffer) {
                    float bu = first ? gu : fmaf(gu, e.keep, b[u] * e.momentum);
                    buf[i] = bu;
                    d = nesterov ? fmaf(bu, e.momentum, gu) : bu;
                }
                float pu = fmaf(d, -e.lr, p[u]);
                if (master) master[i] = pu;
                store_f((void*)e.param, e.param_dtype, i, pu);
            }
        }
    }
}

static_assert(sizeof(SgdEntry) == 72 && offsetof(SgdEntry, param_dtype) == 40 && offsetof(SgdEntry, lr) == 48
              && offsetof(SgdEntry, flags) == 64, "SgdEntry layout must match OptimLaunchers");

// ------------------------------------------------------------------------------------ gradient norms

struct NormEntry {             // 24 bytes; host packing in OptimLaunchers.NORM_*
    long long data;            // any float dtype
    long long n;
    int dtype;
    int pad;
};

static_assert(sizeof(NormEntry) == 24 && offsetof(NormEntry, dtype) == 16, "NormEntry layout must match OptimLaunchers");

// Sum of THREADS doubles held one per thread, by a fixed tree: the same result every run.
__device__ __forceinline__ double block_sum(double v) {
    __shared__ double partial[THREADS];
    partial[threadIdx.x] = v;
    __syncthreads();
#pragma unroll
    for (int w = THREADS / 2; w > 0; w >>= 1) {
        if (threadIdx.x < w) partial[threadIdx.x] += partial[threadIdx.x + w];
        __syncthreads();
    }
    double total = partial[0];
    __syncthreads();
    return total;
}

// chunk_sums[b] = sum of squares of block b's chunk (float per thread, double across threads).
extern "C" __global__ void __launch_bounds__(THREADS) sum_squares_chunks(const NormEntry* __restrict__ entries,
        const long long* __restrict__ chunk_start, int count, double* __restrict__ chunk_sums) {
    int t = find_tensor(chunk_start, count, blockIdx.x);
    const NormEntry e = entries[t];
    long long start = (blockIdx.x - chunk_start[t]) * (long long)CHUNK;
    long long end = min(e.n, start + CHUNK);
    float acc = 0.0f;
    for (long long base = start + threadIdx.x; base < end; base += THREADS * UNROLL) {
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            long long i = base + u * THREADS;
            if (i < end) {
                float x = load_f((const void*)e.data, e.dtype, i);
                acc = fmaf(x, x, acc);
            }
        }
    }
    double total = block_sum((double)acc);
    if (threadIdx.x == 0) chunk_sums[blockIdx.x] = total;
}

// partials[t] = sum of tensor t's chunk sums, in chunk order; one block per tensor.
extern "C" __global__ void __launch_bounds__(THREADS) sum_squares_combine(const long long* __restrict__ chunk_start,
        int count, const double* __restrict__ chunk_sums, float* __restrict__ partials) {
    for (int t = blockIdx.x; t < count; t += gridDim.x) {
        double acc = 0.0;
        for (long long c = chunk_start[t] + threadIdx.x; c < chunk_start[t + 1]; c += THREADS) acc += chunk_sums[c];
        double total = block_sum(acc);
        if (threadIdx.x == 0) partials[t] = (float)total;
    }
}

// norm = sqrt(sum of partials), in double; one block.
extern "C" __global__ void __launch_bounds__(THREADS) combine_norm(const float* __restrict__ partials, long long n,
                                                                   float* __restrict__ norm) {
    double acc = 0.0;
    for (long long i = threadIdx.x; i < n; i += THREADS) acc += (double)partials[i];
    double total = block_sum(acc);
    if (threadIdx.x == 0) *norm = (float)sqrt(total);
}

// x *= min(1, max_norm / (norm + eps)) for every tensor, reading norm on the device; nothing is
// written when the coefficient is >= 1 or the norm is not finite.
extern "C" __global__ void __launch_bounds__(THREADS) scale_to_max_norm(const NormEntry* __restrict__ entries,
        const long long* __restrict__ chunk_start, int count, const float* __restrict__ norm, double max_norm, double eps) {
    float total = *norm;
    if (!isfinite(total)) return;
    double coef = max_norm / ((double)total + eps);
    if (coef >= 1.0) return;
    float c = (float)coef;
    int t = find_tensor(chunk_start, count, blockIdx.x);
    const NormEntry e = entries[t];
    long long start = (blockIdx.x - chunk_start[t]) * (long long)CHUNK;
    long long end = min(e.n, start + CHUNK);
    for (long long i = start + threadIdx.x; i < end; i += THREADS) {
        store_f((void*)e.data, e.dtype, i, load_f((const void*)e.data, e.dtype, i) * c);
    }
}
