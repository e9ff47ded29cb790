// Per group, the sum of its member rows: the CUDA side of dev.panomni.tensor.ops.GroupedRows.sum and
// of GroupedRows.select's backward (CPU twin: tensor/.../cpu/CpuGroupedRowsKernels.java). A mixture-
// of-experts layer sums each token's k expert rows with it, in place of an index-add (which sorts
// its indices to add deterministically): here each output row reads its members in list order, so the
// sum is deterministic without a sort, and a member equal to m (a choice routed elsewhere) adds nothing.
// One block per output row (grid-stride), 16-byte accesses where the width and addresses allow, fp32
// accumulation.
#include "vec.cuh"

template <typename T>
__device__ void grouped_rows_sum(const T* t, long long m, const long long* members, long long groups, int per_group,
                                 long long width, T* out) {
    constexpr int N = Vec<T>::N;
    bool vec = width % N == 0 && aligned16(t) && aligned16(out);
    for (long long g = blockIdx.x; g < groups; g += gridDim.x) {
        const long long* mem = members + g * per_group;
        if (vec) {
            for (long long c = (long long)threadIdx.x * N; c < width; c += (long long)blockDim.x * N) {
                float acc[N];
#pragma unroll
                for (int e = 0; e < N; e++) acc[e] = 0.0f;
                for (int j = 0; j < per_group; j++) {
                    long long r = mem[j];
                    if (r < m) {
                        float v[N];
                        load_vec<T>(t + r * width + c, v);
#pragma unroll
                        for (int e = 0; e < N; e++) acc[e] += v[e];
                    }
                }
                store_vec<T>(out + g * width + c, acc);
            }
        } else {
            for (long long c = threadIdx.x; c < width; c += blockDim.x) {
                float acc = 0.0f;
                for (int j = 0; j < per_group; j++) {
                    long long r = mem[j];
                    if (r < m) acc += to_f(t[r * width + c]);
                }
                out[g * width + c] = from_f<T>(acc);
            }
        }
    }
}

#define GROUPED_ROWS_ENTRIES(SUF, T)                                                                        \
    extern "C" __global__ void grouped_rows_sum_##SUF(const T* t, long long m, const long long* members,   \
                                                      long long groups, int per_group, long long width,     \
                                                      T* out) {                                             \
        grouped_rows_sum<T>(t, m, members, groups, per_group, width, out);                                  \
    }
PANOMNI_FOR_FLOAT_TYPES(GROUPED_ROWS_ENTRIES)
