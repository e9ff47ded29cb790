package dev.panomni.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorExpTest {
    @Test
    void expIsAccurateAndVectorAndScalarFormsAgreeBitForBit() {
        Random rng = new Random(1);
        int l = VectorExp.F.length();
        float[] x = new float[l * 4000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (rng.nextFloat() * 2 - 1) * (i % 3 == 0 ? 88f : 10f);
        }
        float[] lanes = new float[l];
        for (int i = 0; i < x.length; i += l) {
            VectorExp.exp(FloatVector.fromArray(VectorExp.F, x, i)).intoArray(lanes, 0);
            for (int j = 0; j < l; j++) {
                float xi = x[i + j];
                float scalar = VectorExp.exp(xi);
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
        assertEquals(1f, VectorExp.exp(0f));
        assertEquals(0f, VectorExp.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, VectorExp.exp(-100f));
        assertEquals(Float.POSITIVE_INFINITY, VectorExp.exp(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, VectorExp.exp(89f));
        assertTrue(Float.isNaN(VectorExp.exp(Float.NaN)));
        float nearMax = VectorExp.exp(88.7f);
        assertEquals(Math.exp(88.7f), nearMax, 3 * Math.ulp(nearMax));
        float[] special = new float[VectorExp.F.length()];
        special[0] = Float.NEGATIVE_INFINITY;
        special[1] = Float.POSITIVE_INFINITY;
        float[] out = new float[special.length];
        VectorExp.exp(FloatVector.fromArray(VectorExp.F, special, 0)).intoArray(out, 0);
        assertEquals(0f, out[0]);
        assertEquals(Float.POSITIVE_INFINITY, out[1]);
        assertEquals(1f, out[2]);
    }

    @Test
    void sumAddsLanesInOrder() {
        float[] v = new float[VectorExp.F.length()];
        v[0] = 1e8f;
        v[1] = 1f;
        v[2] = -1e8f;
        float expected = 0f;
        for (float f : v) {
            expected += f;
        }
        assertEquals(expected, VectorExp.sum(FloatVector.fromArray(VectorExp.F, v, 0)));
    }
}
