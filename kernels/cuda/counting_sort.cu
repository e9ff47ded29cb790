// Stable counting sort of small integer keys, for mixture-of-experts routing: the entries of a key
// matrix [rows, cols] (row-major, I64) whose key lies in [lo, lo + buckets) are listed bucket by
// bucket, ascending by entry index inside a bucket; entries with other keys are left out (an
// expert-parallel rank keeps only the rows of its own experts). Each listed entry gives its flat
// index and its row (the token), and every entry its place in the list (the reverse map). Replaces a host sort that left the GPU idle for ~0.5 ms per MoE
// layer; the host then reads only the [buckets] counts.
//
// Host sequence (CountingSortLaunchers): counting_sort_count over chunks of the keys, then
// counting_sort_place with one block per bucket. A placing block reads all n keys (n = rows * cols,
// 1 - 2 MB of I64 for a 16K-token MoE layer, served from L2).
#include "common.cuh"

#define CSORT_THREADS 512
// Keys per block of the count.
#define CSORT_CHUNK 8192
// Consecutive entries per thread and pass of the placement: the order inside a bucket is the entry
// order, so a thread owns a run and one block-wide scan per pass places all of it.
#define CSORT_ITEMS 8

__device__ __forceinline__ long long csort_block_sum(long long v, long long* part) {
    for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    long long total = 0;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) total += part[w];
    return total;
}

// counts[b] += the entries with key lo + b among this block's CSORT_CHUNK entries (counts start at 0):
// a shared-memory histogram per block, then one global atomic per bucket and block (integer adds, so
// the result does not depend on their order). Grid: ceil(n / CSORT_CHUNK) blocks of CSORT_THREADS;
// dynamic shared memory buckets * 4 bytes.
extern "C" __global__ void __launch_bounds__(CSORT_THREADS) counting_sort_count(const long long* keys, long long n,
                                                                               long long lo, int buckets,
                                                                               unsigned long long* counts) {
    extern __shared__ uint4 smem_raw[];
    int* hist = reinterpret_cast<int*>(smem_raw);
    for (int b = threadIdx.x; b < buckets; b += blockDim.x) hist[b] = 0;
    __syncthreads();
    long long start = (long long)blockIdx.x * CSORT_CHUNK;
    long long end = start + CSORT_CHUNK < n ? start + CSORT_CHUNK : n;
    for (long long i = start + threadIdx.x; i < end; i += blockDim.x) {
        long long b = keys[i] - lo;
        if (b >= 0 && b < buckets) atomicAdd(&hist[b], 1);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < buckets; b += blockDim.x) {
        if (hist[b] != 0) atomicAdd(&counts[b], (unsigned long long)hist[b]);
    }
}

// Bucket b's entries go to [sum(counts[0..b)), + counts[b]) of flat (entry index) and row (entry
// index / cols), in entry order, and slot[entry] is that position; block 0 also gives every entry
// outside the key range slot = sum(counts) (one past the listed). Grid: buckets blocks of CSORT_THREADS.
extern "C" __global__ void __launch_bounds__(CSORT_THREADS) counting_sort_place(
        const long long* keys, long long n, long long cols, long long lo, const long long* counts,
        long long* flat, long long* row, long long* slot) {
    __shared__ long long part[CSORT_THREADS / 32];
    __shared__ int warp_total[CSORT_THREADS / 32];
    long long buckets = gridDim.x;
    long long base = 0, listed = 0;
    for (long long j = threadIdx.x; j < buckets; j += blockDim.x) {
        if (j < blockIdx.x) base += counts[j];
        listed += counts[j];
    }
    base = csort_block_sum(base, part);
    __syncthreads();   // part is reused
    listed = csort_block_sum(listed, part);
    long long key = lo + blockIdx.x;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (int)(blockDim.x >> 5);
    long long pass = (long long)blockDim.x * CSORT_ITEMS;
    for (long long start = 0; start < n; start += pass) {
        long long first = start + (long long)threadIdx.x * CSORT_ITEMS;
        unsigned hits = 0;
#pragma unroll
        for (int j = 0; j < CSORT_ITEMS; j++) {
            long long i = first + j;
            if (i < n) {
                long long k = keys[i];
                if (k == key) hits |= 1u << j;
                if (blockIdx.x == 0 && (k < lo || k >= lo + buckets)) slot[i] = listed;
            }
        }
        int c = __popc(hits);
        int inclusive = c;
        for (int d = 1; d < 32; d <<= 1) {
            int v = __shfl_up_sync(0xffffffffu, inclusive, d);
            if (lane >= d) inclusive += v;
        }
        if (lane == 31) warp_total[warp] = inclusive;
        __syncthreads();
        int before = 0, total = 0;
        for (int w = 0; w < warps; w++) {
            int t = warp_total[w];
            if (w < warp) before += t;
            total += t;
        }
        long long at = base + before + inclusive - c;
        while (hits) {
            int j = __ffs(hits) - 1;
            hits &= hits - 1;
            flat[at] = first + j;
            row[at] = (first + j) / cols;
            slot[first + j] = at;
            at++;
        }
        base += total;
        __syncthreads();   // warp_total is rewritten by the next pass
    }
}
