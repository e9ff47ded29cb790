package dev.panomni.trainer;

import dev.panomni.trainer.metrics.RunSummary;
import dev.panomni.trainer.metrics.StepMetrics;

import java.nio.file.Path;
import java.util.List;

/**
 * How a run ended.
 *
 * @param status         completed, interrupted (Ctrl-C, checkpoint saved) or stopped (non-finite values)
 * @param step           the last optimizer step completed
 * @param metrics        every step's metrics of the whole run (including steps before a resume)
 * @param summary        the end summary, or null when no step was recorded
 * @param lastCheckpoint the last checkpoint written or resumed from, or null
 * @param samples        the model's continuations of {@code logging.sample_prompts}
 * @param message        what stopped the run (for {@link Status#STOPPED}), else null
 */
public record TrainingResult(Status status, long step, List<StepMetrics> metrics, RunSummary summary,
                             Path lastCheckpoint, List<Sample> samples, String message) {
    public enum Status {
        COMPLETED,
        INTERRUPTED,
        STOPPED
    }

    /** One generated sample: the prompt and the model's greedy continuation. */
    public record Sample(String prompt, String completion) {
    }

    public TrainingResult {
        metrics = List.copyOf(metrics);
        samples = List.copyOf(samples);
    }

    /** The mean training loss of the last (up to) 10 recorded steps, or NaN when none. */
    public double finalLoss() {
        return summary == null ? Double.NaN : summary.finalLoss();
    }
}
