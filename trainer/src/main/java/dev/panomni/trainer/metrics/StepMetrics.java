package dev.panomni.trainer.metrics;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One line of {@code metrics.jsonl}: what an optimizer step measured.
 *
 * @param step            optimizer step (1-based: the step just completed)
 * @param loss            mean training loss over the step's target tokens
 * @param lr              learning rate the step used
 * @param gradNorm        global gradient L2 norm before clipping (null when not measured)
 * @param tokens          tokens the step consumed (all micro-batches)
 * @param tokensPerSecond throughput of this step (tokens / step wall time)
 * @param elapsedSeconds  training wall time since the run started (across resumes)
 * @param memoryBytes     device memory in use at the end of the step (null when unknown)
 * @param valLoss         validation loss measured after this step (null when not evaluated)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepMetrics(long step, double loss, double lr, Double gradNorm, long tokens, double tokensPerSecond,
                          double elapsedSeconds, Long memoryBytes, Double valLoss) {
    /** This record with a validation loss. */
    public StepMetrics withValLoss(double v) {
        return new StepMetrics(step, loss, lr, gradNorm, tokens, tokensPerSecond, elapsedSeconds, memoryBytes, v);
    }
}
