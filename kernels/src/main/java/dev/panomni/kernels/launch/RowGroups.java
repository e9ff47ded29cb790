package dev.panomni.kernels.launch;

/**
 * How the row kernels (softmax.cu, loss.cu, norm.cu) spread rows over threads: a group of
 * {@code group} threads (a power of two up to 1024) owns a row, a block of {@code threads} threads
 * (at least 128, a multiple of the group) holds {@code threads / group} rows, and {@code blocks}
 * blocks cover all rows.
 */
record RowGroups(int group, int threads, long blocks) {
    /**
     * Groups sized so each thread handles about {@code perThread} of the row's {@code units} (16-byte
     * vectors, or elements where the row cannot be read in vectors).
     */
    static RowGroups of(long rows, long units, int perThread) {
        int g = Math.min(1024, FloatKernel.pow2AtLeast((units + perThread - 1) / perThread));
        return withGroup(rows, g);
    }

    /** A fixed group size. */
    static RowGroups withGroup(long rows, int group) {
        int threads = Math.max(group, 128);
        long rowsPerBlock = threads / group;
        return new RowGroups(group, threads, Math.max(1, (rows + rowsPerBlock - 1) / rowsPerBlock));
    }

    int rowsPerBlock() {
        return threads / group;
    }

    LaunchConfig config() {
        return LaunchConfig.linear(blocks, threads);
    }
}
