package dev.panomni.trainer.config;

import java.util.List;

/**
 * {@code logging:} metrics, progress, plots and samples.
 *
 * @param dir           directory of {@code metrics.jsonl} and the PNG plots
 * @param every         steps between progress lines ({@code metrics.jsonl} records every step)
 * @param plots         write loss / learning-rate / throughput plots at each checkpoint and at the end
 * @param samplePrompts prompts the model continues (greedily) at the end of the run, to show what it
 *                      learned (with data.format chat, each is a user turn and the model answers);
 *                      empty for none
 * @param sampleTokens  tokens generated per sample at most
 */
public record LoggingConfig(String dir, int every, boolean plots, List<String> samplePrompts, int sampleTokens) {
    public LoggingConfig {
        samplePrompts = samplePrompts == null ? List.of() : List.copyOf(samplePrompts);
    }

    public static LoggingConfig defaults() {
        return new LoggingConfig("runs/demo", 10, true, List.of(), 32);
    }
}
