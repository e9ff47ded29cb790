// Emulated fp16 storage type (see cuemu.h), converted through the compiler's _Float16.
#pragma once
#include "cuemu.h"

struct __half {
    uint16_t x;
};
struct __half2 {
    __half x, y;
};

inline float __half2float(__half h) {
    _Float16 f;
    std::memcpy(&f, &h.x, 2);
    return (float)f;
}
inline __half __float2half_rn(float v) {
    _Float16 f = (_Float16)v;
    __half h;
    std::memcpy(&h.x, &f, 2);
    return h;
}
inline __half2 __floats2half2_rn(float a, float b) { return {__float2half_rn(a), __float2half_rn(b)}; }
