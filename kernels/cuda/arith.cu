// Broadcasting arithmetic: the CUDA side of dev.panomni.tensor.ops.ArithKernels
// (CPU twin: tensor/.../cpu/CpuArithKernels.java). Floats compute in fp32, any storage dtype.
#include "common.cuh"

enum : int { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3 };

__device__ __forceinline__ float apply_f(int op, float x, float y) {
    switch (op) {
        case OP_ADD: return x + y;
        case OP_SUB: return x - y;
        case OP_MUL: return x * y;
        default: return x / y;
    }
}

__device__ __forceinline__ long long apply_l(int op, long long x, long long y) {
    switch (op) {
        case OP_ADD: return x + y;
        case OP_SUB: return x - y;
        case OP_MUL: return x * y;
        default: {
            if (y == 0) return 0;
            long long q = x / y;
            return (q * y != x && ((x < 0) != (y < 0))) ? q - 1 : q;   // floor division, as on the CPU
        }
    }
}

// out (contiguous) = a op b, a and b read through broadcast strides of out's shape.
extern "C" __global__ void binary_strided(int op, int dt, const char* a, Strided sa, const char* b, Strided sb,
                                          char* out, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        long long oa = strided_offset(sa, i);
        long long ob = strided_offset(sb, i);
        if (is_float(dt)) store_f(out, dt, i, apply_f(op, load_f(a, dt, oa), load_f(b, dt, ob)));
        else store_l(out, dt, i, apply_l(op, load_l(a, dt, oa), load_l(b, dt, ob)));
    }
}

// Same-shape contiguous fp32 fast path: 16-byte accesses.
extern "C" __global__ void binary_f32_contig(int op, const float* __restrict__ a, const float* __restrict__ b,
                                             float* __restrict__ out, long long n) {
    long long n4 = n / 4;
    GRID_STRIDE_LOOP(i, n4) {
        float4 x = reinterpret_cast<const float4*>(a)[i];
        float4 y = reinterpret_cast<const float4*>(b)[i];
        reinterpret_cast<float4*>(out)[i] =
            make_float4(apply_f(op, x.x, y.x), apply_f(op, x.y, y.y), apply_f(op, x.z, y.z), apply_f(op, x.w, y.w));
    }
    GRID_STRIDE_LOOP(j, n - n4 * 4) { out[n4 * 4 + j] = apply_f(op, a[n4 * 4 + j], b[n4 * 4 + j]); }
}

// out = a * scale + shift, contiguous, any dtype. Floats use one fp32 fma (as the CPU's F32 path);
// integers compute in double and truncate, as the CPU does.
extern "C" __global__ void affine(int dt, const char* a, char* out, long long n, double scale, double shift) {
    float fs = (float)scale, fh = (float)shift;
    GRID_STRIDE_LOOP(i, n) {
        if (is_float(dt)) store_f(out, dt, i, fmaf(load_f(a, dt, i), fs, fh));
        else store_l(out, dt, i, (long long)((double)load_l(a, dt, i) * scale + shift));
    }
}

// Undo a broadcast: dst[j] = sum of src elements that map to j. One thread per destination element,
// each walking the reduced index space in a fixed order, so results are deterministic; the sum is
// kept in double, as on the CPU.
// red: the reduced dims' extents and src strides (src is contiguous); keep: dst's dims in src's index
// space with their src strides.
extern "C" __global__ void sum_to(int dt, const char* src, Strided keep, Strided red, long long reduced_count,
                                  char* dst, long long n) {
    GRID_STRIDE_LOOP(j, n) {
        long long base = strided_offset(keep, j);
        double acc = 0.0;
        for (long long r = 0; r < reduced_count; r++) {
            acc += (double)load_f(src, dt, base + strided_offset(red, r));
        }
        store_f(dst, dt, j, (float)acc);
    }
}

// sum_to for few destination elements and long reductions (a broadcast scalar's gradient): one block
// of 256 threads per destination element, its threads striding over the reduced index space, the
// partial sums combined by a fixed tree, so results are deterministic.
extern "C" __global__ void __launch_bounds__(256) sum_to_blocks(int dt, const char* src, Strided keep, Strided red,
                                                                long long reduced_count, char* dst, long long n) {
    __shared__ double partial[256];
    for (long long j = blockIdx.x; j < n; j += gridDim.x) {
        long long base = strided_offset(keep, j);
        double acc = 0.0;
        for (long long r = threadIdx.x; r < reduced_count; r += blockDim.x) {
            acc += (double)load_f(src, dt, base + strided_offset(red, r));
        }
        partial[threadIdx.x] = acc;
        __syncthreads();
        for (int w = blockDim.x / 2; w > 0; w >>= 1) {
            if (threadIdx.x < w) partial[threadIdx.x] += partial[threadIdx.x + w];
            __syncthreads();
        }
        if (threadIdx.x == 0) store_f(dst, dt, j, (float)partial[0]);
        __syncthreads();
    }
}
