/* Declarations the generator must refuse, each with a clear message (used by the generator's tests). */
#ifndef ERRORS_H
#define ERRORS_H

struct opaque_st;
typedef struct opaque_st opaque_t;

typedef struct {
    unsigned int low : 4;
    unsigned int high : 28;
} packed_bits;

int print_things(const char *format, ...);
int take_opaque(opaque_t value);
int take_bits(packed_bits bits);
long double precise(long double x);

#endif
