package dev.panomni.trainer;

import dev.panomni.trainer.config.ScheduleKind;
import dev.panomni.trainer.config.TrainConfig;

/**
 * The learning rate as a function of the step: linear warmup from 0 to {@code peak} over
 * {@code warmupSteps}, then constant, cosine or linear decay to {@code peak * minLrRatio} at
 * {@code totalSteps}. Stateless, so resuming needs only the step.
 *
 * @param kind        decay shape after warmup
 * @param peak        the learning rate at the end of warmup
 * @param warmupSteps steps of linear warmup (0: none)
 * @param totalSteps  the run's length in optimizer steps
 * @param minLrRatio  floor of the decay as a fraction of {@code peak} (ignored by constant)
 */
public record LrSchedule(ScheduleKind kind, double peak, long warmupSteps, long totalSteps, double minLrRatio) {

    public static LrSchedule of(TrainConfig t) {
        return new LrSchedule(t.schedule(), t.lr(), t.warmupSteps(), t.steps(), t.minLrRatio());
    }

    /** The learning rate of optimizer step {@code step} (1-based: the first update is step 1). */
    public double lr(long step) {
        if (warmupSteps > 0 && step <= warmupSteps) {
            return peak * step / warmupSteps;
        }
        if (kind == ScheduleKind.CONSTANT || totalSteps <= warmupSteps) {
            return peak;
        }
        double progress = Math.min(1.0, Math.max(0.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps)));
        double floor = peak * minLrRatio;
        return switch (kind) {
            case COSINE -> floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
            case LINEAR -> peak - (peak - floor) * progress;
            case CONSTANT -> peak;
        };
    }
}
