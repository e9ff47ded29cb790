/* A small header written for the generator's tests. The functions are real libc symbols so the generated bindings
 * can be called; the macros mimic CUDA's versioning scheme (#define cuMemAlloc cuMemAlloc_v2). */
#ifndef SAMPLE_H
#define SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLE_VERSION 1203
#define SAMPLE_FLAG (1ull << 40)
#define SAMPLE_NEGATIVE (-7)
#define SAMPLE_NAME "panomni"
#define SAMPLE_RATIO 0.5f

/* Versioning macros: the API name is not the exported symbol. */
#define PTDS(name) name
#define sample_length strlen
#define sample_labs PTDS(labs)

typedef struct sample_ctx_st *sample_ctx;
typedef unsigned long long sample_ptr_v2;
typedef sample_ptr_v2 sample_ptr;

typedef enum sample_color_enum {
    SAMPLE_RED = 1,
    SAMPLE_GREEN = 2,
    SAMPLE_ALIAS = 2,
    SAMPLE_BLUE = 4,
    SAMPLE_ALL = 0xFFFFFFFFu
} sample_color;

typedef enum { SAMPLE_SMALL = -1, SAMPLE_LARGE = 1 } sample_size;

typedef struct {
    int quot;
    int rem;
} div_t;

typedef struct sample_pair_st {
    short a;
    long long b;
} sample_pair;

typedef struct {
    char tag;
    double value;
    int counts[3];
    sample_pair pair;
    sample_ctx ctx;
} sample_record;

typedef union {
    int i;
    float f;
    char bytes[6];
} sample_bits;

typedef size_t (*sample_callback)(int blockSize);

size_t sample_length(const char *s);
long sample_labs(long x);
div_t div(int numer, int denom);
int abs(int x);
void free(void *ptr);
int sample_paint(sample_ctx ctx, sample_color color, sample_ptr where, sample_callback cb);
int sample_describe(const sample_record *record, sample_bits bits, sample_size size);
int sample_noproto();

#endif
