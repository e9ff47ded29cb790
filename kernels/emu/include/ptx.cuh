// CPU versions of kernels/cuda/ptx.cuh (see cuemu.h): cp.async copies at once, ldmatrix and mma.sync
// as warp exchanges with the fragment layouts of the PTX ISA.
#pragma once
#include "common.cuh"

inline void cp_async16(void* dst, const void* src, int bytes) {
    std::memset(dst, 0, 16);
    if (bytes > 0) std::memcpy(dst, src, bytes);
}
inline void cp_async4(void* dst, const void* src, int bytes) {
    std::memset(dst, 0, 4);
    if (bytes > 0) std::memcpy(dst, src, bytes);
}
inline void cp_async8(void* dst, const void* src, int bytes) {
    std::memset(dst, 0, 8);
    if (bytes > 0) std::memcpy(dst, src, bytes);
}
inline void cp_async_commit() {}
template <int N> inline void cp_async_wait() {}

// ldmatrix .x4: lanes 8m..8m+7 give the row addresses of matrix m; lane l receives, of each matrix,
// row l/4, columns 2(l%4) and +1 (transposed: rows 2(l%4) and +1 of column l/4).
inline void emu_ldsm(uint32_t* r, const void* p, bool trans) {
    int lane = emu_lane();
    emu_exchange(&p, sizeof(p), [&](unsigned char (*buf)[64]) {
        for (int m = 0; m < 4; m++) {
            uint16_t lo, hi;
            if (!trans) {
                const uint16_t* row;
                std::memcpy(&row, buf[m * 8 + lane / 4], sizeof(row));
                lo = row[2 * (lane % 4)];
                hi = row[2 * (lane % 4) + 1];
            } else {
                const uint16_t* r0;
                const uint16_t* r1;
                std::memcpy(&r0, buf[m * 8 + 2 * (lane % 4)], sizeof(r0));
                std::memcpy(&r1, buf[m * 8 + 2 * (lane % 4) + 1], sizeof(r1));
                lo = r0[lane / 4];
                hi = r1[lane / 4];
            }
            r[m] = (uint32_t)lo | ((uint32_t)hi << 16);
        }
    });
}
inline void ldsm_x4(uint32_t* r, const void* p) { emu_ldsm(r, p, false); }
inline void ldsm_x4_t(uint32_t* r, const void* p) { emu_ldsm(r, p, true); }

template <typename T> inline float emu_elem(uint16_t bits) {
    T v;
    std::memcpy(&v, &bits, 2);
    return to_f(v);
}

// mma.m16n8k16 row.col: A fragment a0 (g, 2t..), a1 (g+8, 2t..), a2 (g, 2t+8..), a3 (g+8, 2t+8..);
// B b0 (k 2t.., n g), b1 (k 2t+8.., n g); C c0,c1 (g, 2t..), c2,c3 (g+8, 2t..); g = lane/4, t = lane%4.
template <typename T> inline void mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    uint32_t mine[6] = {a[0], a[1], a[2], a[3], b0, b1};
    int lane = emu_lane();
    float out[4];
    emu_exchange(mine, sizeof(mine), [&](unsigned char (*buf)[64]) {
        float A[16][16], B[16][8];
        for (int l = 0; l < 32; l++) {
            uint32_t f[6];
            std::memcpy(f, buf[l], sizeof(f));
            int g = l >> 2, t = l & 3;
            auto lo = [](uint32_t v) { return (uint16_t)(v & 0xffff); };
            auto hi = [](uint32_t v) { return (uint16_t)(v >> 16); };
            A[g][2 * t] = emu_elem<T>(lo(f[0]));
            A[g][2 * t + 1] = emu_elem<T>(hi(f[0]));
            A[g + 8][2 * t] = emu_elem<T>(lo(f[1]));
            A[g + 8][2 * t + 1] = emu_elem<T>(hi(f[1]));
            A[g][2 * t + 8] = emu_elem<T>(lo(f[2]));
            A[g][2 * t + 9] = emu_elem<T>(hi(f[2]));
            A[g + 8][2 * t + 8] = emu_elem<T>(lo(f[3]));
            A[g + 8][2 * t + 9] = emu_elem<T>(hi(f[3]));
            B[2 * t][g] = emu_elem<T>(lo(f[4]));
            B[2 * t + 1][g] = emu_elem<T>(hi(f[4]));
            B[2 * t + 8][g] = emu_elem<T>(lo(f[5]));
            B[2 * t + 9][g] = emu_elem<T>(hi(f[5]));
        }
        int g = lane >> 2, t = lane & 3;
        int rows[4] = {g, g, g + 8, g + 8};
        int cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
        for (int i = 0; i < 4; i++) {
            float s = 0.0f;
            for (int k = 0; k < 16; k++) s += A[rows[i]][k] * B[k][cols[i]];
            out[i] = s;
        }
    });
    for (int i = 0; i < 4; i++) c[i] += out[i];
}

inline uint4 ld_global_evict_last(const void* p) {
    uint4 r;
    std::memcpy(&r, p, 16);
    return r;
}
