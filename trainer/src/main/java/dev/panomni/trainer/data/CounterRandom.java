package dev.panomni.trainer.data;

/**
 * A seeded random stream whose whole state is a draw counter: draw {@code n} is a SplitMix64 hash
 * of (seed, n). Saving and restoring the counter restores the stream exactly.
 */
final class CounterRandom {
    private final long seed;
    private long draws;

    CounterRandom(long seed, long stream) {
        this.seed = mix(seed ^ mix(stream + 0x632BE59BD9B4E019L));
    }

    long draws() {
        return draws;
    }

    void setDraws(long draws) {
        this.draws = draws;
    }

    long nextLong() {
        return mix(seed + (draws++) * 0x9E3779B97F4A7C15L);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, bound) (bound > 0), by rejection so that no value is favoured. */
    int nextInt(int bound) {
        long limit = Long.MAX_VALUE - (Long.MAX_VALUE % bound);
        while (true) {
            long r = nextLong() >>> 1;
            if (r < limit) {
                return (int) (r % bound);
            }
        }
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
