package dev.panomni.tensor.testing;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;

import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks an op against a naive float64 reference: the forward on random inputs, and the backward
 * against central finite differences of the reference taken in float64.
 */
public final class GradCheck {
    private GradCheck() {
    }

    /** A naive float64 implementation: inputs (row-major) to the output (row-major). */
    @FunctionalInterface
    public interface Reference {
        double[] apply(double[][] inputs);
    }

    /** Uniform values in [-1, 1). */
    public static float[] random(Random rng, long n) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextFloat() * 2f - 1f;
        }
        return v;
    }

    /** Relative error ||a - b|| / max(||b||, tiny). */
    public static double relError(float[] a, double[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            num += d * d;
            den += b[i] * b[i];
        }
        return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
    }

    public static double relError(float[] a, float[] b) {
        double[] bd = new double[b.length];
        for (int i = 0; i < b.length; i++) {
            bd[i] = b[i];
        }
        return relError(a, bd);
    }

    /**
     * Checks forward and backward of {@code op} on fresh F32 inputs of {@code shapes}.
     *
     * @param values   input values (row-major), one array per input; use {@link #random}
     * @param grads    which inputs to differentiate
     * @param fwdTol   relative forward tolerance
     * @param bwdTol   relative gradient tolerance
     */
    public static void check(String what, Function<Tensor[], Tensor> op, Reference ref, long[][] shapes,
                             float[][] values, boolean[] grads, double fwdTol, double bwdTol, long seed) {
        try (Scope s = Scope.open("gradcheck")) {
            int n = shapes.length;
            Tensor[] in = new Tensor[n];
            double[][] dv = new double[n][];
            for (int i = 0; i < n; i++) {
                in[i] = Tensor.of(values[i], shapes[i]);
                if (grads[i]) {
                    in[i].requiresGrad(true);
                }
                dv[i] = new double[values[i].length];
                for (int k = 0; k < values[i].length; k++) {
                    dv[i][k] = values[i][k];
                }
            }
            Tensor out = op.apply(in);
            double[] expected = ref.apply(dv);
            float[] got = out.toFloatArray();
            if (got.length != expected.length) {
                fail(what + ": output has " + got.length + " elements, reference " + expected.length);
            }
            double fe = relError(got, expected);
            assertTrue(fe <= fwdTol, what + ": forward relative error " + fe + " > " + fwdTol);

            Random rng = new Random(seed);
            float[] g = random(rng, got.length);
            Tensor seedGrad = Tensor.of(g, out.shape());
            out.backward(seedGrad);
            for (int i = 0; i < n; i++) {
                if (!grads[i]) {
                    continue;
                }
                double[] numeric = new double[dv[i].length];
                for (int k = 0; k < dv[i].length; k++) {
                    double orig = dv[i][k];
                    double h = 1e-6 * Math.max(1.0, Math.abs(orig));
                    dv[i][k] = orig + h;
                    double fp = dot(g, ref.apply(dv));
                    dv[i][k] = orig - h;
                    double fm = dot(g, ref.apply(dv));
                    dv[i][k] = orig;
                    numeric[k] = (fp - fm) / (2 * h);
                }
                Tensor gi = in[i].grad();
                if (gi == null) {
                    fail(what + ": input " + i + " received no gradient");
                }
                double be = relError(gi.toFloatArray(), numeric);
                assertTrue(be <= bwdTol, what + ": gradient of input " + i + " relative error " + be + " > " + bwdTol);
            }
        }
    }

    /** Forward and backward of all inputs with default fp32 tolerances (1e-5 forward, 1e-3 gradients). */
    public static void check(String what, Function<Tensor[], Tensor> op, Reference ref, long[][] shapes, long seed) {
        Random rng = new Random(seed);
        float[][] values = new float[shapes.length][];
        boolean[] grads = new boolean[shapes.length];
        for (int i = 0; i < shapes.length; i++) {
            values[i] = random(rng, dev.panomni.tensor.Shapes.numel(shapes[i]));
            grads[i] = true;
        }
        check(what, op, ref, shapes, values, grads, 1e-5, 1e-3, seed + 1);
    }

    private static double dot(float[] g, double[] y) {
        double s = 0;
        for (int i = 0; i < g.length; i++) {
            s += g[i] * y[i];
        }
        return s;
    }
}
