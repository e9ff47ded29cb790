package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaDevice;

/**
 * Grid and block shape of one launch, and its dynamic shared memory in bytes.
 */
record LaunchConfig(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {
    /** Blocks per multiprocessor that grid-stride kernels are sized for: enough resident warps to hide latency. */
    static final int BLOCKS_PER_SM = 8;

    LaunchConfig {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1 || sharedBytes < 0) {
            throw new IllegalArgumentException("bad launch shape: grid " + gridX + "x" + gridY + "x" + gridZ
                    + ", block " + blockX + "x" + blockY + "x" + blockZ + ", shared " + sharedBytes);
        }
    }

    /** A 1-D launch of {@code blocks} blocks of {@code threads} threads. */
    static LaunchConfig linear(long blocks, int threads) {
        return new LaunchConfig(Math.toIntExact(blocks), 1, 1, threads, 1, 1, 0);
    }

    /** {@code this} with {@code bytes} of dynamic shared memory. */
    LaunchConfig withShared(int bytes) {
        return new LaunchConfig(gridX, gridY, gridZ, blockX, blockY, blockZ, bytes);
    }

    /**
     * A 1-D launch for a grid-stride loop over {@code items} work items (elements, or vectors of
     * elements): one item per thread up to a few waves of blocks, then the loop takes over.
     */
    static LaunchConfig gridStride(CudaDevice device, long items, int threads) {
        long wanted = Math.max(1, (items + threads - 1) / threads);
        long cap = (long) device.multiprocessorCount() * BLOCKS_PER_SM * (1024 / threads);
        return linear(Math.min(wanted, cap), threads);
    }

    @Override
    public String toString() {
        return "grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + blockX + "x" + blockY + "x" + blockZ
                + (sharedBytes > 0 ? ", " + sharedBytes + " B shared" : "");
    }
}
