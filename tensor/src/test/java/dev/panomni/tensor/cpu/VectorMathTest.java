package dev.panomni.tensor.cpu;

import dev.panomni.tensor.testing.ReferenceMath;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorMathTest {
    private static float[] apply(UnaryOperator<FloatVector> f, float[] x) {
        int l = VectorMath.L;
        float[] padded = java.util.Arrays.copyOf(x, (x.length + l - 1) / l * l);
        float[] out = new float[padded.length];
        for (int i = 0; i < padded.length; i += l) {
            f.apply(FloatVector.fromArray(VectorMath.F, padded, i)).intoArray(out, i);
        }
        return java.util.Arrays.copyOf(out, x.length);
    }

    /** Every float step of 1/4096 over [-6, 6], plus arguments from 1e-30 to 1 on a log grid, both signs. */
    private static float[] erfArguments() {
        int grid = 12 * 4096 + 1;
        int logs = 2000;
        float[] x = new float[grid + 2 * logs];
        for (int i = 0; i < grid; i++) {
            x[i] = -6f + i / 4096f;
        }
        for (int i = 0; i < logs; i++) {
            float v = (float) Math.pow(10, -30 + 30.0 * i / (logs - 1));
            x[grid + 2 * i] = v;
            x[grid + 2 * i + 1] = -v;
        }
        return x;
    }

    @Test
    void erfIsAccurateToAboutOneUlp() {
        float[] x = erfArguments();
        float[] got = apply(VectorMath::erf, x);
        double worst = 0;
        float at = 0;
        for (int i = 0; i < x.length; i++) {
            double ref = ReferenceMath.erf(x[i]);
            double rel = Math.abs(got[i] - ref) / Math.abs(ref);
            if (rel > worst) {
                worst = rel;
                at = x[i];
            }
        }
        System.out.println("erf max relative error " + worst + " at " + at);
        assertTrue(worst < 1.5e-7, "erf max relative error " + worst + " at x = " + at);
    }

    @Test
    void erfSpecialValues() {
        float[] got = apply(VectorMath::erf, new float[] {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.NaN, 100f, -100f});
        assertEquals(0f, got[0]);
        assertEquals(1f, got[2]);
        assertEquals(-1f, got[3]);
        assertTrue(Float.isNaN(got[4]));
        assertEquals(1f, got[5]);
        assertEquals(-1f, got[6]);
    }

    @Test
    void gaussianCdfKeepsRelativeAccuracyInTheLeftTail() {
        float[] x = new float[4001];
        for (int i = 0; i < x.length; i++) {
            x[i] = -8f + i * 0.004f;
        }
        float[] got = apply(VectorMath::gaussianCdf, x);
        // Worst relative error over x >= 0 (Phi >= 1/2), [-3, 0) and [-4 sqrt 2, -3): the float rounding of
        // x / sqrt 2 alone costs up to |d log Phi / dx| * |x| * 2^-24 there, about 1e-6 at x = -3.
        double[] worst = new double[3];
        for (int i = 0; i < x.length; i++) {
            double ref = ReferenceMath.gaussianCdf(x[i]);
            if (x[i] < -4 * Math.sqrt(2)) {
                assertTrue(got[i] == 0f || Math.abs(got[i] - ref) / ref < 1e-5, "cdf at " + x[i] + ": " + got[i]);
                continue;
            }
            int band = x[i] >= 0 ? 0 : x[i] >= -3 ? 1 : 2;
            worst[band] = Math.max(worst[band], Math.abs(got[i] - ref) / ref);
        }
        System.out.println("cdf max relative error " + java.util.Arrays.toString(worst));
        assertTrue(worst[0] < 2e-7, "cdf relative error on [0, 8]: " + worst[0]);
        assertTrue(worst[1] < 1.5e-6, "cdf relative error on [-3, 0): " + worst[1]);
        assertTrue(worst[2] < 5e-6, "cdf relative error on [-4 sqrt 2, -3): " + worst[2]);
    }
}
