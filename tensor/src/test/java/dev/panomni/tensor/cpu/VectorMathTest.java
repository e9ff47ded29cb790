package dev.panomni.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;
import dev.panomni.tensor.testing.ReferenceMath;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorMathTest {
    @Test
    void expIsAccurateAndVectorAndScalarFormsAgreeBitForBit() {
        Random rng = new Random(1);
        int l = VectorMath.F.length();
        float[] x = new float[l * 4000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (rng.nextFloat() * 2 - 1) * (i % 3 == 0 ? 88f : 10f);
        }
        float[] lanes = new float[l];
        for (int i = 0; i < x.length; i += l) {
            VectorMath.exp(FloatVector.fromArray(VectorMath.F, x, i)).intoArray(lanes, 0);
            for (int j = 0; j < l; j++) {
                float xi = x[i + j];
                float scalar = VectorMath.exp(xi);
                assertEquals(Float.floatToIntBits(scalar), Float.floatToIntBits(lanes[j]), "x=" + xi);
                double ref = Math.exp(xi);
                if (xi >= -86.9f) {
                    assertTrue(Math.abs(scalar - ref) <= 3 * Math.ulp((float) ref), "x=" + xi + ": " + scalar + " vs " + ref);
                }
            }
        }
    }

    @Test
    void expSpecialValues() {
        assertEquals(1f, VectorMath.exp(0f));
        assertEquals(0f, VectorMath.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, VectorMath.exp(-100f));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(89f));
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        float nearMax = VectorMath.exp(88.7f);
        assertEquals(Math.exp(88.7f), nearMax, 3 * Math.ulp(nearMax));
        float[] special = new float[VectorMath.F.length()];
        special[0] = Float.NEGATIVE_INFINITY;
        special[1] = Float.POSITIVE_INFINITY;
        float[] out = new float[special.length];
        VectorMath.exp(FloatVector.fromArray(VectorMath.F, special, 0)).intoArray(out, 0);
        assertEquals(0f, out[0]);
        assertEquals(Float.POSITIVE_INFINITY, out[1]);
        assertEquals(1f, out[2]);
    }

    @Test
    void sumAddsLanesInOrder() {
        float[] v = new float[VectorMath.F.length()];
        v[0] = 1e8f;
        v[1] = 1f;
        v[2] = -1e8f;
        float expected = 0f;
        for (float f : v) {
            expected += f;
        }
        assertEquals(expected, VectorMath.sum(FloatVector.fromArray(VectorMath.F, v, 0)));
    private static float[] apply(UnaryOperator<FloatVector> f, float[] x) {
        int l = VectorMath.L;
        float[] padded = java.util.Arrays.copyOf(x, (x.length + l - 1) / l * l);
        float[] out = new float[padded.length];
        for (int i = 0; i < padded.length; i += l) {
            f.apply(FloatVector.fromArray(VectorMath.F, padded, i)).intoArray(out, i);
        return java.util.Arrays.copyOf(out, x.length);
    /** Every float step of 1/4096 over [-6, 6], plus arguments from 1e-30 to 1 on a log grid, both signs. */
    private static float[] erfArguments() {
        int grid = 12 * 4096 + 1;
        int logs = 2000;
        float[] x = new float[grid + 2 * logs];
        for (int i = 0; i < grid; i++) {
            x[i] = -6f + i / 4096f;
        for (int i = 0; i < logs; i++) {
            float v = (float) Math.pow(10, -30 + 30.0 * i / (logs - 1));
            x[grid + 2 * i] = v;
            x[grid + 2 * i + 1] = -v;
        return x;
    void erfIsAccurateToAboutOneUlp() {
        float[] x = erfArguments();
        float[] got = apply(VectorMath::erf, x);
        double worst = 0;
        float at = 0;
            double ref = ReferenceMath.erf(x[i]);
            double rel = Math.abs(got[i] - ref) / Math.abs(ref);
            if (rel > worst) {
                worst = rel;
                at = x[i];
        System.out.println("erf max relative error " + worst + " at " + at);
        assertTrue(worst < 1.5e-7, "erf max relative error " + worst + " at x = " + at);
    void erfSpecialValues() {
        float[] got = apply(VectorMath::erf, new float[] {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.NaN, 100f, -100f});
        assertEquals(0f, got[0]);
        assertEquals(1f, got[2]);
        assertEquals(-1f, got[3]);
        assertTrue(Float.isNaN(got[4]));
        assertEquals(1f, got[5]);
        assertEquals(-1f, got[6]);
    void gaussianCdfKeepsRelativeAccuracyInTheLeftTail() {
        float[] x = new float[4001];
            x[i] = -8f + i * 0.004f;
        float[] got = apply(VectorMath::gaussianCdf, x);
        // Worst relative error over x >= 0 (Phi >= 1/2), [-3, 0) and [-4 sqrt 2, -3): the float rounding of
        // x / sqrt 2 alone costs up to |d log Phi / dx| * |x| * 2^-24 there, about 1e-6 at x = -3.
        double[] worst = new double[3];
            double ref = ReferenceMath.gaussianCdf(x[i]);
            if (x[i] < -4 * Math.sqrt(2)) {
                assertTrue(got[i] == 0f || Math.abs(got[i] - ref) / ref < 1e-5, "cdf at " + x[i] + ": " + got[i]);
                continue;
            int band = x[i] >= 0 ? 0 : x[i] >= -3 ? 1 : 2;
            worst[band] = Math.max(worst[band], Math.abs(got[i] - ref) / ref);
        System.out.println("cdf max relative error " + java.util.Arrays.toString(worst));
        assertTrue(worst[0] < 2e-7, "cdf relative error on [0, 8]: " + worst[0]);
        assertTrue(worst[1] < 1.5e-6, "cdf relative error on [-3, 0): " + worst[1]);
        assertTrue(worst[2] < 5e-6, "cdf relative error on [-4 sqrt 2, -3): " + worst[2]);
    }
}
