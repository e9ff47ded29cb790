// Ascending bitonic sort of 64-bit keys on the device, for the deterministic index-add and
// embedding backward: keys (index << 32 | position) are distinct, so the sorted order is unique and
// every run of one index lists its positions in ascending order.
//
// The key array is padded to a power of two npad with ~0 (sorted last). Host sequence
// (SortLauncher):
//   sort_make_keys
//   sort_local(keys, npad)                                   every k <= TILE inside tiles
//   for k = 2 * TILE .. npad (doubling):
//       for j = k / 2 .. TILE (halving): sort_global_step(keys, npad, k, j)
//       sort_local_merge(keys, npad, k)                      j = TILE / 2 .. 1 inside tiles
// where TILE = min(SORT_TILE, npad). The direction of the pair (i, i ^ j) in stage k is ascending
// when i & k == 0.
#include "common.cuh"

#define SORT_TILE 2048

// keys[j] = index[j] << 32 | j for j < n, ~0 for n <= j < npad. Indices must lie in [0, 2^31)
// (the callers check them first; bad ones only make the sorted order meaningless, never unsafe).
extern "C" __global__ void sort_make_keys(const void* index, int i64, long long n, long long npad,
                                          unsigned long long* keys) {
    GRID_STRIDE_LOOP(j, npad) {
        if (j < n) {
            long long v = i64 ? ((const long long*)index)[j] : (long long)((const int*)index)[j];
            keys[j] = ((unsigned long long)(v & 0xffffffffll) << 32) | (unsigned long long)j;
        } else {
            keys[j] = ~0ull;
        }
    }
}

__device__ __forceinline__ void compare_exchange(unsigned long long* s, int a, int b, bool ascending) {
    unsigned long long x = s[a], y = s[b];
    if ((x > y) == ascending) {
        s[a] = y;
        s[b] = x;
    }
}

// Sorts each tile of min(SORT_TILE, npad) keys through all stages k <= tile. Block tile / 2 threads.
extern "C" __global__ void sort_local(unsigned long long* keys, long long npad) {
    __shared__ unsigned long long s[SORT_TILE];
    int tile = (int)(npad < SORT_TILE ? npad : SORT_TILE);
    long long base = (long long)blockIdx.x * tile;
    for (int t = threadIdx.x; t < tile; t += blockDim.x) s[t] = keys[base + t];
    __syncthreads();
    for (int k = 2; k <= tile; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int t = threadIdx.x; t < tile / 2; t += blockDim.x) {
                int i = 2 * j * (t / j) + (t % j);
                bool ascending = ((base + i) & k) == 0;
                compare_exchange(s, i, i + j, ascending);
            }
            __syncthreads();
        }
    }
    for (int t = threadIdx.x; t < tile; t += blockDim.x) keys[base + t] = s[t];
}

// One step (k, j) with j >= tile over the whole array: npad / 2 pairs.
extern "C" __global__ void sort_global_step(unsigned long long* keys, long long npad, long long k, long long j) {
    GRID_STRIDE_LOOP(t, npad / 2) {
        long long i = 2 * j * (t / j) + (t % j);
        long long l = i + j;
        bool ascending = (i & k) == 0;
        unsigned long long x = keys[i], y = keys[l];
        if ((x > y) == ascending) {
            keys[i] = y;
            keys[l] = x;
        }
    }
}

// Steps j = tile / 2 .. 1 of stage k inside each tile. Block tile / 2 threads.
extern "C" __global__ void sort_local_merge(unsigned long long* keys, long long npad, long long k) {
    __shared__ unsigned long long s[SORT_TILE];
    int tile = (int)(npad < SORT_TILE ? npad : SORT_TILE);
    long long base = (long long)blockIdx.x * tile;
    for (int t = threadIdx.x; t < tile; t += blockDim.x) s[t] = keys[base + t];
    __syncthreads();
    bool ascending = (base & k) == 0;   // k > tile: one direction per tile
    for (int j = tile >> 1; j > 0; j >>= 1) {
        for (int t = threadIdx.x; t < tile / 2; t += blockDim.x) {
            int i = 2 * j * (t / j) + (t % j);
            compare_exchange(s, i, i + j, ascending);
        }
        __syncthreads();
    }
    for (int t = threadIdx.x; t < tile; t += blockDim.x) keys[base + t] = s[t];
}
