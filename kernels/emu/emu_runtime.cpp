// The emulator's launch entry point (see include/cuemu.h): a registry of kernels by name, each with
// a trampoline that unpacks a cuLaunchKernel-style parameter array, and emu_launch, which runs a
// grid block by block, the block's threads as fibers switched at barriers.
#include "cuemu.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <ucontext.h>
#include <vector>

struct EmuFiber {
    ucontext_t ctx;
    dim3 tid;
    int warp = 0;
    bool done = false;
    EmuBarrier* waiting = nullptr;
    unsigned generation = 0;
};

struct EmuBlockState {
    EmuBarrier block;
    EmuBarrier warps[32];
    alignas(16) unsigned char buffers[32][32][64];
};

EmuFiber* emu_current;
dim3 blockIdx;
dim3 blockDim;
dim3 gridDim;
unsigned char* emu_dynamic_smem;

static ucontext_t scheduler;
static EmuBlockState* state;
static std::function<void(void**)>* kernel;
static void** kernel_args;
static const size_t STACK = 256 << 10;
static std::vector<char*> stacks;

const dim3& emu_thread_idx() { return emu_current->tid; }
EmuBarrier& emu_block_barrier() { return state->block; }
EmuBarrier& emu_warp_barrier() { return state->warps[emu_current->warp]; }
unsigned char (*emu_warp_buffer())[64] { return state->buffers[emu_current->warp]; }

static void release_if_complete(EmuBarrier& b) {
    if (b.expected > 0 && b.arrived == b.expected) {
        b.arrived = 0;
        b.generation++;
    }
}

void emu_wait(EmuBarrier& b) {
    unsigned g = b.generation;
    b.arrived++;
    if (b.arrived == b.expected) {
        b.arrived = 0;
        b.generation++;
        return;
    }
    EmuFiber* me = emu_current;
    me->waiting = &b;
    me->generation = g;
    swapcontext(&me->ctx, &scheduler);
}

static void fiber_main() {
    (*kernel)(kernel_args);
    EmuFiber* me = emu_current;
    me->done = true;
    // An exited thread no longer counts at the barriers.
    state->block.expected--;
    release_if_complete(state->block);
    state->warps[me->warp].expected--;
    release_if_complete(state->warps[me->warp]);
    swapcontext(&me->ctx, &scheduler);
}

std::map<std::string, std::function<void(void**)>>& emu_registry() {
    static std::map<std::string, std::function<void(void**)>> r;
    return r;
}

extern "C" int emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                          unsigned bz, unsigned long long smem, void** args) {
    auto it = emu_registry().find(name);
    if (it == emu_registry().end()) {
        std::fprintf(stderr, "emu_launch: no kernel %s\n", name);
        return 1;
    }
    kernel = &it->second;
    kernel_args = args;
    gridDim = {gx, gy, gz};
    blockDim = {bx, by, bz};
    int n = (int)(bx * by * bz);
    std::vector<unsigned char> dyn(smem + 16);
    emu_dynamic_smem = dyn.data() + (16 - (reinterpret_cast<uintptr_t>(dyn.data()) & 15)) % 16;
    while ((int)stacks.size() < n) stacks.push_back(static_cast<char*>(std::malloc(STACK)));
    std::vector<EmuFiber> fibers(n);
    auto st = std::make_unique<EmuBlockState>();
    state = st.get();
    for (unsigned z = 0; z < gz; z++) {
        for (unsigned y = 0; y < gy; y++) {
            for (unsigned x = 0; x < gx; x++) {
                blockIdx = {x, y, z};
                std::fill(dyn.begin(), dyn.end(), 0xcd);   // garbage, as fresh shared memory
                *state = EmuBlockState();
                state->block.expected = n;
                for (int w = 0; w * 32 < n; w++) state->warps[w].expected = std::min(32, n - w * 32);
                for (int t = 0; t < n; t++) {
                    EmuFiber& f = fibers[t];
                    f = EmuFiber();
                    f.tid = {(unsigned)(t % bx), (unsigned)((t / bx) % by), (unsigned)(t / (bx * by))};
                    f.warp = t >> 5;
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = stacks[t];
                    f.ctx.uc_stack.ss_size = STACK;
                    f.ctx.uc_link = nullptr;
                    makecontext(&f.ctx, fiber_main, 0);
                }
                int remaining = n;
                while (remaining > 0) {
                    bool progress = false;
                    for (int t = 0; t < n; t++) {
                        EmuFiber& f = fibers[t];
                        if (f.done) continue;
                        if (f.waiting != nullptr && f.waiting->generation == f.generation) continue;
                        f.waiting = nullptr;
                        emu_current = &f;
                        swapcontext(&scheduler, &f.ctx);
                        progress = true;
                        if (f.done) remaining--;
                    }
                    if (!progress) {
                        std::fprintf(stderr, "emu_launch: %s block (%u,%u,%u) deadlocked: %d threads wait at barriers "
                                     "that cannot complete (a divergent __syncthreads or warp collective)\n",
                                     name, x, y, z, remaining);
                        return 2;
                    }
                }
            }
        }
    }
    return 0;
}
