// where(cond, a, b): the CUDA side of dev.panomni.tensor.ops.SelectionKernels (CPU twin:
// tensor/.../cpu/CpuSelectionKernels.java). Elements are moved as raw bits of their width, so every
// dtype works; cond, a and b are read through strides over out's shape (0 on broadcast dims).
#include "common.cuh"

template <typename E>
__device__ void where_strided(const unsigned char* cond, Strided sc, const E* a, Strided sa, const E* b, Strided sb,
                              E* out, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        bool c = cond[strided_offset(sc, i)] != 0;
        out[i] = c ? a[strided_offset(sa, i)] : b[strided_offset(sb, i)];
    }
}

// width: element bytes (1, 2, 4 or 8).
extern "C" __global__ void where_strided_any(const unsigned char* cond, Strided sc, const void* a, Strided sa,
                                             const void* b, Strided sb, void* out, long long n, int width) {
    switch (width) {
        case 1: where_strided((const unsigned char*)cond, sc, (const uint8_t*)a, sa, (const uint8_t*)b, sb, (uint8_t*)out, n); break;
        case 2: where_strided(cond, sc, (const uint16_t*)a, sa, (const uint16_t*)b, sb, (uint16_t*)out, n); break;
        case 4: where_strided(cond, sc, (const uint32_t*)a, sa, (const uint32_t*)b, sb, (uint32_t*)out, n); break;
        default: where_strided(cond, sc, (const uint64_t*)a, sa, (const uint64_t*)b, sb, (uint64_t*)out, n); break;
    }
}
