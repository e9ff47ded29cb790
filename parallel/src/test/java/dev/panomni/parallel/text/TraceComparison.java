package dev.panomni.parallel.text;

import org.opentest4j.AssertionFailedError;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every rank's trace of a parallel run against the single-device reference, step by step: every
 * mismatch is collected (not only the first), with the rank, the step and the tensor, and the worst
 * error of each kind is kept for the summary line.
 */
public final class TraceComparison {
    /** Mismatches listed in a failure message; the rest are counted. */
    private static final int LISTED = 20;

    private final String label;
    private final Tolerance tolerance;
    private final List<String> failures = new ArrayList<>();
    private final Worst loss = new Worst();
    private final Worst norm = new Worst();
    private final Worst grad = new Worst();
    private final Worst param = new Worst();
    private final Worst ofTotal = new Worst();

    /** The largest error of one kind and where it was. */
    private static final class Worst {
        double error;
        String where = "-";

        void offer(double e, String at) {
            if (Double.isNaN(error)) {
                return;     // a NaN stays the worst
            }
            if (Double.isNaN(e) || e > error || where.equals("-")) {
                error = e;
                where = at;
            }
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.2e (%s)", error, where);
        }
    }

    private TraceComparison(String label, Tolerance tolerance) {
        this.label = label;
        this.tolerance = tolerance;
    }

    /**
     * Compares each of {@code ranks} with {@code reference}: losses and norms per step, each
     * gradient and parameter per step. Every rank must also report rank 0's global loss exactly
     * (it is one all-reduced value).
     */
    public static TraceComparison of(String label, TrainingTrace reference, List<TrainingTrace> ranks,
                                     Tolerance tolerance) {
        TraceComparison c = new TraceComparison(label, tolerance);
        for (TrainingTrace t : ranks) {
            c.compareRank(reference, t, ranks.get(0));
        }
        return c;
    }

    private void compareRank(TrainingTrace ref, TrainingTrace got, TrainingTrace rank0) {
        String r = "rank " + got.rank();
        if (got.steps() != ref.steps()) {
            failures.add(r + " recorded " + got.steps() + " steps, the reference " + ref.steps());
            return;
        }
        for (int s = 0; s < ref.steps(); s++) {
            String at = r + ", step " + s;
            scalar("loss", loss, got.losses()[s], ref.losses()[s], tolerance.loss(), at);
            scalar("gradient norm", norm, got.norms()[s], ref.norms()[s], tolerance.norm(), at);
            if (Double.compare(got.losses()[s], rank0.losses()[s]) != 0) {
                failures.add(at + ": global loss " + got.losses()[s] + " differs from rank 0's " + rank0.losses()[s]
                        + " (every rank reports the same all-reduced value)");
            }
            tensors("gradient", grad, got.grads().get(s), ref.grads().get(s), null, null, tolerance.grad(),
                    ref.norms()[s], at);
            tensors("parameter", param, got.params().get(s), ref.params().get(s), got.grads().get(s),
                    ref.grads().get(s), tolerance.param(), 0, at + " (after the update)");
        }
    }

    private void scalar(String what, Worst worst, double got, double want, double tol, String at) {
        double err = Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
        worst.offer(err, at);
        if (!(err <= tol)) {
            failures.add(String.format(Locale.ROOT, "%s: %s %.7g vs reference %.7g, relative error %.2e > %.0e", at,
                    what, got, want, err, tol));
        }
    }

    private void tensors(String what, Worst worst, Map<String, float[]> got, Map<String, float[]> want,
                         Map<String, float[]> gotGrads, Map<String, float[]> wantGrads, double tol, double whole,
                         String at) {
        // whole > 0: a gradient also passes within tolerance.gradOfTotal() of the step's whole-gradient norm
        double floor = whole > 0 ? tolerance.gradOfTotal() * whole : 0;
        for (Map.Entry<String, float[]> e : want.entrySet()) {
            String name = e.getKey();
            float[] g = got.get(name);
            if (g == null) {
                failures.add(at + ": no " + what + " of " + name + " (the reference has one)");
                continue;
            }
            if (g.length != e.getValue().length) {
                failures.add(at + ": " + what + " of " + name + " has " + g.length + " elements, the reference "
                        + e.getValue().length);
                continue;
            }
            double diff = TrainingTrace.diffNorm(g, e.getValue());
            double err = TrainingTrace.relError(g, e.getValue());
            worst.offer(err, at + ", " + name);
            if (floor > 0) {
                ofTotal.offer(diff / whole, at + ", " + name);
            }
            if (!(err <= tol) && !(diff <= floor)) {
                int i = TrainingTrace.worstElement(g, e.getValue());
                String detail = String.format(Locale.ROOT, "worst element %d: %.7g vs %.7g", i, g[i], e.getValue()[i]);
                if (gotGrads != null && gotGrads.containsKey(name) && wantGrads.containsKey(name)) {
                    detail += String.format(Locale.ROOT, ", its gradient %.7g vs %.7g", gotGrads.get(name)[i],
                            wantGrads.get(name)[i]);
                }
                failures.add(String.format(Locale.ROOT, "%s: %s of %s differs by %.2e relative (> %.0e)%s; %s", at,
                        what, name, err, tol, floor > 0 ? String.format(Locale.ROOT, ", %.2e of the whole gradient "
                                + "(> %.0e)", diff / whole, tolerance.gradOfTotal()) : "",
                        detail));
            }
        }
        for (String name : got.keySet()) {
            if (!want.containsKey(name)) {
                failures.add(at + ": " + what + " of " + name + ", which the reference model does not have");
            }
        }
    }

    /** Whether every check was within tolerance. */
    public boolean agrees() {
        return failures.isEmpty();
    }

    /** The mismatches found, each naming rank, step and tensor. */
    public List<String> failures() {
        return List.copyOf(failures);
    }

    /** Worst relative error of each kind, and where. */
    public String summary() {
        return label + ": " + (agrees() ? "agrees" : failures.size() + " MISMATCHES") + "; worst relative errors: loss "
                + loss + ", norm " + norm + ", gradient " + grad
                + (tolerance.gradOfTotal() > 0 ? ", gradient vs the whole gradient " + ofTotal : "")
                + ", parameter " + param + "; tolerances " + tolerance;
    }

    /** Throws, listing the mismatches, unless every check was within tolerance. */
    public void assertAgrees() {
        if (agrees()) {
            return;
        }
        StringBuilder sb = new StringBuilder(summary());
        for (int i = 0; i < Math.min(LISTED, failures.size()); i++) {
            sb.append("\n  ").append(failures.get(i));
        }
        if (failures.size() > LISTED) {
            sb.append("\n  ... and ").append(failures.size() - LISTED).append(" more");
        }
        throw new AssertionFailedError(sb.toString());
    }
}
