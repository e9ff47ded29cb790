package dev.panomni.trainer.config;

/**
 * {@code logging:} metrics, progress and plots.
 *
 * @param dir   directory of {@code metrics.jsonl} and the PNG plots
 * @param every steps between progress lines and metric records
 * @param plots write loss / learning-rate / throughput plots at each checkpoint and at the end
 */
public record LoggingConfig(String dir, int every, boolean plots) {
    public static LoggingConfig defaults() {
        return new LoggingConfig("runs/demo", 10, true);
    }
}
