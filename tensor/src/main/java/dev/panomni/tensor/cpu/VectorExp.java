package dev.panomni.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Math on float vectors that gives the same bits however the code runs. The Vector API's own
 * {@code EXP} is an intrinsic (SVML) once compiled but {@code Math.exp} while interpreted, and its
 * {@code reduceLanes(ADD)} may reorder the sum, so results could change as the JIT warms up. Here
 * exp is built from IEEE operations that every tier computes identically (add, mul, fma, bit
 * shifts), and horizontal sums run in lane order. The scalar forms use the same operations, so a
 * loop's scalar tail agrees with its vector body.
 */
final class VectorExp {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    // Cephes expf: exp(x) = 2^n * exp(r), x = n ln2 + r, |r| <= ln2 / 2, ln2 split in two for accuracy.
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;
    /** Below this the result is flushed to 0 (e^-86.9 is 1.8e-38, just above the smallest normal float). */
    private static final float LO = -86.9f;
    /** Above this exp overflows: the result is infinity. */
    private static final float HI = 88.72283f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, held in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = 0x4B400000;

    private VectorExp() {
    }

    /** e^x per lane (about 2 ulp), 0 below -87.3, infinity above 88.7, NaN for NaN. */
    static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.lt(LO);
        VectorMask<Float> over = x.compare(VectorOperators.GT, HI);
        FloatVector xc = x.max(LO).min(HI);
        FloatVector t = xc.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(P0, P1);
        p = p.fma(r, FloatVector.broadcast(F, P2));
        p = p.fma(r, FloatVector.broadcast(F, P3));
        p = p.fma(r, FloatVector.broadcast(F, P4));
        p = p.fma(r, FloatVector.broadcast(F, P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        // 2^n as 2^(n-1) * 2, so n = 128 (x near HI) still has a finite biased exponent.
        IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(ROUND_BITS - 126).lanewise(VectorOperators.LSHL, 23);
        FloatVector result = y.mul(bits.reinterpretAsFloats()).mul(2f);
        return result.blend(0f, under).blend(Float.POSITIVE_INFINITY, over);
    }

    /** The scalar form of {@link #exp(FloatVector)}, bit for bit. */
    static float exp(float x) {
        if (x < LO) {
            return 0f;
        }
        if (x > HI) {
            return Float.POSITIVE_INFINITY;
        }
        float xc = x;
        float t = Math.fma(xc, LOG2E, ROUND);
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, xc);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        int bits = (Float.floatToRawIntBits(t) - (ROUND_BITS - 126)) << 23;
        return y * Float.intBitsToFloat(bits) * 2f;
    }

    /** {@code 1 / (1 + e^-x)} per lane. */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector one = FloatVector.broadcast(F, 1f);
        return one.div(exp(x.neg()).add(one));
    }

    /** The scalar form of {@link #sigmoid(FloatVector)}. */
    static float sigmoid(float x) {
        return 1f / (exp(-x) + 1f);
    }

    /** The lanes of {@code v} added in lane order. */
    static float sum(FloatVector v) {
        float[] lanes = v.toArray();
        float s = 0f;
        for (float f : lanes) {
            s += f;
        }
        return s;
    }
}
