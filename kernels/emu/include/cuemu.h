// CPU emulation of the CUDA C++ subset Panomni's kernels use, for checking kernel logic on machines
// without a GPU (kernels/emu/README.md). Each CUDA thread of a block runs as a fiber; blocks run one
// after another, so `__shared__` variables become function-local statics shared by the block's
// threads. __syncthreads is a barrier of the block, warp collectives (shuffles, ldmatrix, mma) are
// exchanges through a per-warp buffer between two warp barriers. Threads that return early drop out
// of the barriers, as exited CUDA threads do; a barrier that can never complete is reported as a
// deadlock (a divergent __syncthreads or shuffle).
#pragma once
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
struct uint4 { unsigned x, y, z, w; };
struct uint2 { unsigned x, y; };
struct float2 { float x, y; };
struct int2 { int x, y; };
inline int2 make_int2(int x, int y) { return {x, y}; }
struct float4 { float x, y, z, w; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

// Each CUDA thread of the running block is a fiber (user-level context) of one OS thread; the
// scheduler (emu_runtime.cpp) switches fibers only at barriers, so runs are deterministic.
struct EmuBarrier {
    int expected = 0;
    int arrived = 0;
    unsigned generation = 0;
};
struct EmuFiber;
extern EmuFiber* emu_current;
const dim3& emu_thread_idx();
extern dim3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;
#define threadIdx (emu_thread_idx())

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__ __restrict

// Integer min/max as CUDA's device overloads (both operands of one type).
template <typename T> inline T min(T a, T b) { return a < b ? a : b; }
template <typename T> inline T max(T a, T b) { return a > b ? a : b; }

inline float __expf(float x) { return std::exp(x); }
inline float normcdff(float x) { return 0.5f * std::erfc(-x * 0.70710678118654752f); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline void sincos(double a, double* s, double* c) { *s = std::sin(a); *c = std::cos(a); }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
#define __align__(n) alignas(n)   // written before __shared__ in the kernels, so it leads the declaration
#include <math.h>   // the C library's expf, logf, ... in the global namespace, as CUDA has them

// ------------------------------------------------------------------ block and warp machinery

// Waits at b with the other live fibers it counts (the scheduler runs the others meanwhile).
void emu_wait(EmuBarrier& b);
EmuBarrier& emu_block_barrier();
EmuBarrier& emu_warp_barrier();
unsigned char (*emu_warp_buffer())[64];

inline int emu_tid() { return threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y; }
inline int emu_lane() { return emu_tid() & 31; }

inline void __syncthreads() { emu_wait(emu_block_barrier()); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu_wait(emu_warp_barrier()); }

// Deposits this lane's bytes, waits for the warp, lets f read every lane's deposit, waits again.
template <typename F> inline void emu_exchange(const void* mine, size_t bytes, F f) {
    unsigned char (*buf)[64] = emu_warp_buffer();
    std::memcpy(buf[emu_lane()], mine, bytes);
    emu_wait(emu_warp_barrier());
    f(buf);
    emu_wait(emu_warp_barrier());
}

template <typename T> inline T __shfl_xor_sync(unsigned, T v, int o) {
    T r;
    int lane = emu_lane();
    emu_exchange(&v, sizeof(T), [&](unsigned char (*buf)[64]) { std::memcpy(&r, buf[lane ^ o], sizeof(T)); });
    return r;
}

template <typename T> inline T __shfl_sync(unsigned, T v, int src) {
    T r;
    emu_exchange(&v, sizeof(T), [&](unsigned char (*buf)[64]) { std::memcpy(&r, buf[src & 31], sizeof(T)); });
    return r;
}

template <typename T> inline T __shfl_up_sync(unsigned, T v, unsigned d) {
    T r;
    int lane = emu_lane();
    int src = lane >= (int)d ? lane - (int)d : lane;
    emu_exchange(&v, sizeof(T), [&](unsigned char (*buf)[64]) { std::memcpy(&r, buf[src], sizeof(T)); });
    return r;
}

template <typename T> inline T __shfl_down_sync(unsigned, T v, unsigned d) {
    T r;
    int lane = emu_lane();
    int src = lane + (int)d < 32 ? lane + (int)d : lane;
    emu_exchange(&v, sizeof(T), [&](unsigned char (*buf)[64]) { std::memcpy(&r, buf[src], sizeof(T)); });
    return r;
}

inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __ffs(int v) { return __builtin_ffs(v); }

inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
    unsigned long long old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}

// The dynamic shared memory of the running block (kernels declare `extern __shared__ uint4 smem_raw[]`,
// which the emulator build rewrites to this pointer).
extern unsigned char* emu_dynamic_smem;
