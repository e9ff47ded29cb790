package dev.panomni.tensor.random;

/**
 * The Philox4x32-10 counter-based generator (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC'11): a keyed bijection of a 128-bit counter, so any element of any stream can be
 * computed directly from (key, counter) on any device, in any order.
 */
public final class Philox {
    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;

    private Philox() {
    }

    /**
     * Ten rounds of Philox4x32 on {@code counter} (4 words) with {@code key} (2 words), written to
     * {@code out} (4 words).
     */
    public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (M0 & 0xFFFF_FFFFL) * (c0 & 0xFFFF_FFFFL);
            long p1 = (M1 & 0xFFFF_FFFFL) * (c2 & 0xFFFF_FFFFL);
            int hi0 = (int) (p0 >>> 32);
            int lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32);
            int lo1 = (int) p1;
            int n0 = hi1 ^ c1 ^ k0;
            int n2 = hi0 ^ c3 ^ k1;
            c0 = n0;
            c1 = lo1;
            c2 = n2;
            c3 = lo0;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** A 32-bit output as a float uniform in [0, 1) with 24 random bits. */
    public static float toUnitFloat(int bits) {
        return (bits >>> 8) * 0x1.0p-24f;
    }

    /** A 32-bit output as a double uniform in (0, 1], safe for a logarithm. */
    public static double toOpenUnitDouble(int bits) {
        return ((bits & 0xFFFF_FFFFL) + 1.0) * 0x1.0p-32;
    }
}
