package dev.panomni.parallel.text;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What one rank saw of a training run, step by step, on the host in F32: the global loss, the
 * global gradient norm before clipping, every parameter's full gradient (before clipping) and every
 * parameter's full value after the optimizer step (the F32 master where parameters are 16-bit).
 *
 * @param rank the rank that recorded it (0 for a single-device run)
 */
public record TrainingTrace(int rank, double[] losses, double[] norms, List<Map<String, float[]>> grads,
                            List<Map<String, float[]>> params) {
    /** Steps recorded. */
    public int steps() {
        return losses.length;
    }

    /** This trace's first {@code n} steps. */
    public TrainingTrace firstSteps(int n) {
        if (n > steps()) {
            throw new IllegalArgumentException("the trace has " + steps() + " steps, not " + n);
        }
        return new TrainingTrace(rank, Arrays.copyOf(losses, n), Arrays.copyOf(norms, n),
                grads.subList(0, n), params.subList(0, n));
    }

    /**
     * The L2 norm of {@code got - want} over the L2 norm of {@code want} (NaN when either holds a
     * NaN, so that comparisons against a tolerance fail; 0 when both are all zeros).
     */
    public static double relError(float[] got, float[] want) {
        double den = 0;
        for (float w : want) {
            den += (double) w * w;
        }
        return diffNorm(got, want) / Math.max(Math.sqrt(den), 1e-30);
    }

    /** The L2 norm of {@code got - want} (NaN when either holds a NaN). */
    public static double diffNorm(float[] got, float[] want) {
        double num = 0;
        for (int i = 0; i < want.length; i++) {
            double d = (double) got[i] - want[i];
            num += d * d;
        }
        return Math.sqrt(num);
    }

    /** Index of the element where {@code got} and {@code want} differ most (NaNs first). */
    public static int worstElement(float[] got, float[] want) {
        int w = 0;
        double worst = -1;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs((double) got[i] - want[i]);
            if (Double.isNaN(d)) {
                return i;
            }
            if (d > worst) {
                worst = d;
                w = i;
            }
        }
        return w;
    }
}
