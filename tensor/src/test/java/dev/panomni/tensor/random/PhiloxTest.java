package dev.panomni.tensor.random;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PhiloxTest {
    private static int[] run(int[] ctr, int[] key) {
        int[] out = new int[4];
        Philox.block(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], out);
        return out;
    }

    /** Known-answer vectors published with Random123 (kat_vectors, philox4x32 with 10 rounds). */
    @Test
    void reproducesRandom123KnownAnswers() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                run(new int[] {0, 0, 0, 0}, new int[] {0, 0}));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                run(new int[] {-1, -1, -1, -1}, new int[] {-1, -1}));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                run(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, new int[] {0xa4093822, 0x299f31d0}));
    }

    @Test
    void drawsDoNotDependOnHowTheTensorIsSplit() {
        try (Scope s = Scope.open()) {
            Generator whole = new Generator(1234);
            float[] all = whole.normal(new long[] {10, 37}, 0, 1).toFloatArray();
            Generator shards = new Generator(1234);
            float[] a = shards.normalRange(0, new long[] {3, 37}, 0, 1).toFloatArray();
            float[] b = shards.normalRange(3 * 37, new long[] {7, 37}, 0, 1).toFloatArray();
            float[] joined = new float[all.length];
            System.arraycopy(a, 0, joined, 0, a.length);
            System.arraycopy(b, 0, joined, a.length, b.length);
            assertArrayEquals(all, joined);
            // Odd offsets too: a draw starting mid-block matches.
            float[] u = new Generator(9).uniform(new long[] {101}, 0, 1).toFloatArray();
            float[] u2 = new Generator(9).uniformRange(17, new long[] {50}, 0, 1).toFloatArray();
            for (int i = 0; i < 50; i++) {
                assertEquals(u[17 + i], u2[i]);
            }
        }
    }

    @Test
    void distributionsHaveTheirMomentsAndBounds() {
        try (Scope s = Scope.open()) {
            Generator g = new Generator(42);
            float[] n = g.normal(new long[] {200_000}, 1.0, 2.0).toFloatArray();
            double mean = 0;
            double sq = 0;
            for (float v : n) {
                mean += v;
            }
            mean /= n.length;
            for (float v : n) {
                sq += (v - mean) * (v - mean);
            }
            double std = Math.sqrt(sq / n.length);
            assertEquals(1.0, mean, 0.02);
            assertEquals(2.0, std, 0.02);

            float[] u = g.uniform(new long[] {100_000}, -3, 5).toFloatArray();
            double um = 0;
            for (float v : u) {
                assertTrue(v >= -3 && v < 5);
                um += v;
            }
            assertEquals(1.0, um / u.length, 0.05);

            float[] t = g.truncatedNormal(new long[] {50_000}, 0, 1, -2, 2).toFloatArray();
            double tsq = 0;
            for (float v : t) {
                assertTrue(v >= -2 && v <= 2);
                tsq += v * v;
            }
            // Variance of a standard normal truncated to [-2, 2] is 0.7737.
            assertEquals(0.7737, tsq / t.length, 0.02);
            // Different seeds differ; the same seed repeats.
            assertArrayEquals(new Generator(5).normal(new long[] {8}, 0, 1).toFloatArray(),
                    new Generator(5).normal(new long[] {8}, 0, 1).toFloatArray());
            assertTrue(new Generator(5).normal(new long[] {1}, 0, 1).item() != new Generator(6).normal(new long[] {1}, 0, 1).item());
            assertEquals(50_000 + 100_000 + 200_000, g.offset());
        }
    }
}
