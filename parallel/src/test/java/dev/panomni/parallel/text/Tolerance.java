package dev.panomni.parallel.text;

import java.util.Locale;

/**
 * Relative tolerances of an equivalence check: the loss and the gradient norm of each step as
 * {@code |got - want| / |want|}, gradients and parameters per tensor as the L2 norm of the
 * difference over the L2 norm of the reference ({@link TrainingTrace#relError}).
 *
 * @param gradOfTotal where positive, a tensor's gradient also passes when the L2 norm of its
 *                    difference is within this fraction of the step's whole-gradient norm: for 16-bit
 *                    runs, where a tensor whose gradient is a small sum of large cancelling terms, or
 *                    a token routed to another expert by a near-tie of router scores, gives a large
 *                    relative error that is still rounding-sized for the model as a whole
 */
public record Tolerance(double loss, double norm, double grad, double gradOfTotal, double param) {
    public Tolerance {
        if (!(loss > 0 && norm > 0 && grad > 0 && gradOfTotal >= 0 && param > 0)) {
            throw new IllegalArgumentException("tolerances must be positive, got " + loss + ", " + norm + ", " + grad
                    + ", " + gradOfTotal + ", " + param);
        }
    }

    /** The same relative bound for everything, per tensor. */
    public static Tolerance of(double all) {
        return new Tolerance(all, all, all, 0, all);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "loss %.0e, norm %.0e, gradient %.0e%s, parameter %.0e", loss, norm, grad,
                gradOfTotal > 0 ? String.format(Locale.ROOT, " or %.0e of the whole gradient", gradOfTotal) : "", param);
    }
}
