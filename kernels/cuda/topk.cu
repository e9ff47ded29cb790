// Top-k along a dim: the CUDA side of dev.panomni.tensor.ops.TopKKernels (CPU twin:
// tensor/.../cpu/CpuTopKKernels.java).
//
// Each element becomes a 64-bit key whose unsigned order is (value descending, index ascending),
// NaN above +inf and -0.0 equal to +0.0, as on the CPU; the k smallest keys, sorted, are the answer.
// One block per line (o, i) of src [outer, n, inner]:
//   n <= TOPK_SMEM: all keys sorted in shared memory (bitonic);
//   larger n: a radix select (8 passes of 8-bit digits, integer shared-memory histograms) finds the
//   k-th smallest key exactly; the keys at or below it (exactly k, keys are distinct) are gathered
//   and sorted, in shared memory when k <= TOPK_SMEM, else in the line's slice of a global
//   workspace of pow2(k) keys.
#include "vec.cuh"

#define TOPK_SMEM 2048
#define TOPK_THREADS 1024

__device__ __forceinline__ unsigned long long topk_key(float v, long long index) {
    int bits = (v != v) ? 0x7fc00000 : (v == 0.0f ? 0 : __float_as_int(v));
    int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
    long long key = ((long long)(~ordered) << 32) | (index & 0xffffffffll);
    return (unsigned long long)key ^ 0x8000000000000000ull;   // signed order as unsigned order
}

// Ascending bitonic sort of s[0..p) (p a power of two) by the whole block.
__device__ void bitonic_shared(unsigned long long* s, int p) {
    for (int k = 2; k <= p; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int t = threadIdx.x; t < p / 2; t += blockDim.x) {
                int i = 2 * j * (t / j) + (t % j);
                bool ascending = (i & k) == 0;
                unsigned long long x = s[i], y = s[i + j];
                if ((x > y) == ascending) {
                    s[i] = y;
                    s[i + j] = x;
                }
            }
            __syncthreads();
        }
    }
}

// The same over global memory owned by this block alone (barriers order the block's accesses).
__device__ void bitonic_global(unsigned long long* s, long long p) {
    for (long long k = 2; k <= p; k <<= 1) {
        for (long long j = k >> 1; j > 0; j >>= 1) {
            for (long long t = threadIdx.x; t < p / 2; t += blockDim.x) {
                long long i = 2 * j * (t / j) + (t % j);
                bool ascending = (i & k) == 0;
                unsigned long long x = s[i], y = s[i + j];
                if ((x > y) == ascending) {
                    s[i] = y;
                    s[i + j] = x;
                }
            }
            __syncthreads();
        }
    }
}

__device__ __forceinline__ long long next_pow2(long long v) {
    long long p = 2;
    while (p < v) p <<= 1;
    return p;
}

template <typename T>
__device__ void write_sorted(const unsigned long long* s, int k, const T* line, long long inner, T* values,
                             long long* indices, long long out_base) {
    for (int q = threadIdx.x; q < k; q += blockDim.x) {
        long long j = (long long)(s[q] & 0xffffffffull);
        values[out_base + q * inner] = line[j * inner];
        indices[out_base + q * inner] = j;
    }
}

// workspace: lines * next_pow2(k) keys, needed only when n > TOPK_SMEM and k > TOPK_SMEM.
template <typename T>
__device__ void topk(const T* src, long long outer, long long n, long long inner, int k, T* values,
                     long long* indices, unsigned long long* workspace) {
    __shared__ unsigned long long s[TOPK_SMEM];
    __shared__ int hist[256];
    __shared__ unsigned long long sel_prefix;
    __shared__ long long sel_rank;
    __shared__ int count;
    long long line_id = blockIdx.x;
    if (line_id >= outer * inner || k == 0) return;
    long long o = line_id / inner;
    long long i = line_id % inner;
    const T* line = src + o * n * inner + i;
    long long out_base = o * (long long)k * inner + i;
    if (n <= TOPK_SMEM) {
        int p = (int)next_pow2(n);
        for (int j = threadIdx.x; j < p; j += blockDim.x) s[j] = j < n ? topk_key(to_f(line[(long long)j * inner]), j) : ~0ull;
        __syncthreads();
        bitonic_shared(s, p);
        write_sorted(s, k, line, inner, values, indices, out_base);
        return;
    }
    // Radix select of the k-th smallest key, most significant digit first.
    if (threadIdx.x == 0) {
        sel_prefix = 0;
        sel_rank = k;
    }
    unsigned long long mask = 0;
    for (int shift = 56; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        unsigned long long prefix = sel_prefix;
        for (long long j = threadIdx.x; j < n; j += blockDim.x) {
            unsigned long long u = topk_key(to_f(line[j * inner]), j);
            if ((u & mask) == prefix) atomicAdd(&hist[(u >> shift) & 255], 1);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            long long rank = sel_rank;
            int b = 0;
            while (b < 255 && hist[b] < rank) {
                rank -= hist[b];
                b++;
            }
            sel_rank = rank;
            sel_prefix = prefix | ((unsigned long long)b << shift);
        }
        mask |= 0xffull << shift;
        __syncthreads();
    }
    unsigned long long threshold = sel_prefix;
    long long p = next_pow2(k);
    bool in_shared = k <= TOPK_SMEM;
    unsigned long long* dst = in_shared ? s : workspace + line_id * p;
    if (threadIdx.x == 0) count = 0;
    __syncthreads();
    for (long long j = threadIdx.x; j < n; j += blockDim.x) {
        unsigned long long u = topk_key(to_f(line[j * inner]), j);
        if (u <= threshold) dst[atomicAdd(&count, 1)] = u;   // slot order varies; the sort fixes it
    }
    for (long long j = k + threadIdx.x; j < p; j += blockDim.x) dst[j] = ~0ull;
    __syncthreads();
    if (in_shared) bitonic_shared(s, (int)p);
    else bitonic_global(dst, p);
    write_sorted(dst, k, line, inner, values, indices, out_base);
}

#define TOPK_ENTRIES(SUF, T)                                                                               \
    extern "C" __global__ void __launch_bounds__(TOPK_THREADS) topk_##SUF(                                 \
        const T* src, long long outer, long long n, long long inner, int k, T* values, long long* indices,  \
        unsigned long long* workspace) {                                                                   \
        topk<T>(src, outer, n, inner, k, values, indices, workspace);                                      \
    }
PANOMNI_FOR_FLOAT_TYPES(TOPK_ENTRIES)
