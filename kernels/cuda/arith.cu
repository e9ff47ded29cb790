// Broadcasting arithmetic: the CUDA side of dev.panomni.tensor.ops.ArithKernels
// (CPU twin: tensor/.../cpu/CpuArithKernels.java). Floats compute in fp32, any storage dtype.
#include "vec.cuh"

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

// Contiguous float fast path, 16-byte accesses: out[i] = a[i] op b[j] with j = i (b of out's shape)
// or, when b_cols > 0, j = i / b_cols (b holds one value per row of b_cols elements: a per-token
// scale such as the MoE routing weight). The vector loop needs 16-byte aligned a and out (and b
// when it has out's shape) and, per row, whole vectors (b_cols a multiple of the vector width).
template <typename T>
__device__ void binary_contig(int op, const T* a, const T* b, T* out, long long n, long long b_cols) {
    constexpr int N = Vec<T>::N;
    long long start = 0;
    bool rows = b_cols > 0;
    if (aligned16(a) && aligned16(out) && (rows ? b_cols % N == 0 : aligned16(b))) {
        long long nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            float x[N], y[N];
            load_vec(a + i * N, x);
            if (rows) {
                float v = to_f(b[i * N / b_cols]);
#pragma unroll
                for (int e = 0; e < N; e++) y[e] = v;
            } else {
                load_vec(b + i * N, y);
            }
#pragma unroll
            for (int e = 0; e < N; e++) x[e] = apply_f(op, x[e], y[e]);
            store_vec(out + i * N, x);
        }
        start = nv * N;
    }
    GRID_STRIDE_LOOP(j, n - start) {
        long long i = start + j;
        out[i] = from_f<T>(apply_f(op, to_f(a[i]), to_f(b[rows ? i / b_cols : i])));
    }
}

#define ARITH_ENTRIES(SUF, T)                                                                               \
    extern "C" __global__ void binary_contig_##SUF(int op, const T* a, const T* b, T* out, long long n,    \
                                                  long long b_cols) {                                      \
        binary_contig<T>(op, a, b, out, n, b_cols);                                                         \
    }
PANOMNI_FOR_FLOAT_TYPES(ARITH_ENTRIES)

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
