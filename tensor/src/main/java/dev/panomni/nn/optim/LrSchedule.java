package dev.panomni.nn.optim;

/**
 * A learning-rate schedule: a pure function of the step, so its only state is the step count that
 * the training loop already checkpoints. {@code step} is the 0-based index of the optimizer step
 * about to run; {@link #multiplierAt} is the factor applied to every group's peak learning rate
 * ({@link Optimizer#setLrMultiplier}), {@link #lrAt} the same for a single peak rate.
 *
 * <p>Warmup is linear and reaches the peak on its last step: {@code (step + 1) / warmupSteps} for
 * {@code step < warmupSteps}. Decay runs over steps {@code [warmupSteps, totalSteps)} with progress
 * {@code (step - warmupSteps) / (totalSteps - warmupSteps)} and holds {@code minRatio} from
 * {@code totalSteps} on.
 */
public sealed interface LrSchedule {
    /** The peak learning rate. */
    double peakLr();

    /** The factor on the peak learning rate at {@code step}, in [0, 1]. */
    double multiplierAt(long step);

    /** {@code peakLr() * multiplierAt(step)}. */
    default double lrAt(long step) {
        return peakLr() * multiplierAt(step);
    }

    /** The peak rate at every step after {@code warmupSteps} of linear warmup (0 for none). */
    static LrSchedule constant(double peakLr, long warmupSteps) {
        return new Constant(peakLr, warmupSteps);
    }

    /** Linear warmup, then a half cosine from the peak down to {@code minRatio * peak} at {@code totalSteps}. */
    static LrSchedule warmupCosine(double peakLr, long warmupSteps, long totalSteps, double minRatio) {
        return new WarmupCosine(peakLr, warmupSteps, totalSteps, minRatio);
    }

    /** Linear warmup, then a straight line from the peak down to {@code minRatio * peak} at {@code totalSteps}. */
    static LrSchedule warmupLinear(double peakLr, long warmupSteps, long totalSteps, double minRatio) {
        return new WarmupLinear(peakLr, warmupSteps, totalSteps, minRatio);
    }

    /** See {@link #constant}. */
    record Constant(double peakLr, long warmupSteps) implements LrSchedule {
        public Constant {
            check(peakLr, warmupSteps, warmupSteps, 0);
        }

        @Override
        public double multiplierAt(long step) {
            return step < warmupSteps ? warmup(step, warmupSteps) : 1.0;
        }
    }

    /** See {@link #warmupCosine}. */
    record WarmupCosine(double peakLr, long warmupSteps, long totalSteps, double minRatio) implements LrSchedule {
        public WarmupCosine {
            check(peakLr, warmupSteps, totalSteps, minRatio);
        }

        @Override
        public double multiplierAt(long step) {
            if (step < warmupSteps) {
                return warmup(step, warmupSteps);
            }
            double p = progress(step, warmupSteps, totalSteps);
            return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * p));
        }
    }

    /** See {@link #warmupLinear}. */
    record WarmupLinear(double peakLr, long warmupSteps, long totalSteps, double minRatio) implements LrSchedule {
        public WarmupLinear {
            check(peakLr, warmupSteps, totalSteps, minRatio);
        }

        @Override
        public double multiplierAt(long step) {
            if (step < warmupSteps) {
                return warmup(step, warmupSteps);
            }
            return 1 - (1 - minRatio) * progress(step, warmupSteps, totalSteps);
        }
    }

    private static double warmup(long step, long warmupSteps) {
        return (Math.max(step, 0) + 1.0) / warmupSteps;
    }

    private static double progress(long step, long warmupSteps, long totalSteps) {
        if (step >= totalSteps) {
            return 1.0;
        }
        return (double) (step - warmupSteps) / (totalSteps - warmupSteps);
    }

    private static void check(double peakLr, long warmupSteps, long totalSteps, double minRatio) {
        if (!(peakLr >= 0) || Double.isInfinite(peakLr)) {
            throw new IllegalArgumentException("LrSchedule: peak learning rate must be finite and >= 0, got " + peakLr);
        }
        if (warmupSteps < 0 || totalSteps < warmupSteps) {
            throw new IllegalArgumentException("LrSchedule: needs 0 <= warmupSteps <= totalSteps, got warmupSteps="
                    + warmupSteps + " totalSteps=" + totalSteps);
        }
        if (!(minRatio >= 0 && minRatio <= 1)) {
            throw new IllegalArgumentException("LrSchedule: minRatio must be in [0, 1], got " + minRatio);
        }
    }
}
