package dev.panomni.trainer.metrics;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What a finished run reports.
 *
 * @param steps           last step completed
 * @param tokens          training tokens consumed over the whole run
 * @param seconds         training wall time over the whole run
 * @param firstLoss       loss of the first recorded step
 * @param finalLoss       mean loss of the last (up to) 10 recorded steps
 * @param bestValLoss     lowest validation loss, or null
 * @param tokensPerSecond tokens / seconds
 * @param peakMemoryBytes highest memory recorded, or null
 * @param checkpoint      the last checkpoint written, or null
 * @param files           metrics file and plots
 */
public record RunSummary(long steps, long tokens, double seconds, double firstLoss, double finalLoss,
                         Double bestValLoss, double tokensPerSecond, Long peakMemoryBytes, Path checkpoint,
                         List<Path> files) {

    /** Summarizes recorded steps (at least one). */
    public static RunSummary of(List<StepMetrics> records, Path checkpoint, List<Path> files) {
        if (records.isEmpty()) {
            throw new IllegalArgumentException("no steps were recorded");
        }
        StepMetrics last = records.get(records.size() - 1);
        long tokens = 0;
        Double bestVal = null;
        Long peak = null;
        for (StepMetrics m : records) {
            tokens += m.tokens();
            if (m.valLoss() != null && (bestVal == null || m.valLoss() < bestVal)) {
                bestVal = m.valLoss();
            }
            if (m.memoryBytes() != null && (peak == null || m.memoryBytes() > peak)) {
                peak = m.memoryBytes();
            }
        }
        int tail = Math.min(10, records.size());
        double sum = 0;
        for (int i = records.size() - tail; i < records.size(); i++) {
            sum += records.get(i).loss();
        }
        double seconds = last.elapsedSeconds();
        return new RunSummary(last.step(), tokens, seconds, records.get(0).loss(), sum / tail, bestVal,
                seconds > 0 ? tokens / seconds : 0, peak, checkpoint, List.copyOf(files));
    }

    /** Several lines for the terminal. */
    public String render() {
        StringBuilder sb = new StringBuilder("run finished: ").append(steps).append(" steps, ")
                .append(ProgressLine.count(tokens)).append(" tokens in ").append(ProgressLine.duration(seconds))
                .append(" (").append(ProgressLine.count(tokensPerSecond)).append(" tok/s)\n");
        sb.append(String.format(Locale.ROOT, "  loss %.4f -> %.4f (mean of the last steps)", firstLoss, finalLoss));
        if (bestValLoss != null) {
            sb.append(String.format(Locale.ROOT, ", best validation loss %.4f", bestValLoss));
        }
        sb.append('\n');
        if (peakMemoryBytes != null) {
            sb.append("  peak memory ").append(ProgressLine.bytes(peakMemoryBytes)).append('\n');
        }
        if (checkpoint != null) {
            sb.append("  checkpoint ").append(checkpoint).append('\n');
        }
        for (Path f : files) {
            sb.append("  wrote ").append(f).append('\n');
        }
        return sb.toString();
    }
}
