package dev.panomni.trainer.metrics;

import java.util.Locale;
import java.util.OptionalDouble;

/**
 * Renders the live progress line:
 * {@code step 120/1000 | loss 2.3412 | lr 3.00e-04 | 12.3k tok/s | MFU 41.2% | mem 1.23 GiB | ETA 3m12s}.
 * MFU appears when both the model's FLOPs per token and the devices' peak are known; memory when
 * measured; ETA once a step of this process has finished.
 */
public final class ProgressLine {
    private final long totalSteps;
    private final double flopsPerToken;
    private final OptionalDouble peakFlops;
    private long firstStep = -1;
    private double firstElapsed;

    /**
     * @param totalSteps    the run's last step
     * @param flopsPerToken training FLOPs per token (0 when unknown)
     * @param peakFlops     peak FLOP/s of all devices together, when known
     */
    public ProgressLine(long totalSteps, double flopsPerToken, OptionalDouble peakFlops) {
        this.totalSteps = totalSteps;
        this.flopsPerToken = flopsPerToken;
        this.peakFlops = peakFlops;
    }

    /** The line for {@code m}; ETA comes from the average step time since the first step rendered. */
    public String render(StepMetrics m) {
        if (firstStep < 0) {
            // The first step of a process includes warm-up (JIT, allocation): time from its end.
            firstStep = m.step();
            firstElapsed = m.elapsedSeconds();
        }
        StringBuilder sb = new StringBuilder();
        int width = Long.toString(totalSteps).length();
        sb.append(String.format(Locale.ROOT, "step %" + width + "d/%d", m.step(), totalSteps));
        sb.append(String.format(Locale.ROOT, " | loss %.4f", m.loss()));
        sb.append(String.format(Locale.ROOT, " | lr %.2e", m.lr()));
        if (m.gradNorm() != null) {
            sb.append(String.format(Locale.ROOT, " | gnorm %.3f", m.gradNorm()));
        }
        sb.append(" | ").append(count(m.tokensPerSecond())).append(" tok/s");
        OptionalDouble mfu = mfu(m.tokensPerSecond());
        if (mfu.isPresent()) {
            sb.append(String.format(Locale.ROOT, " | MFU %.1f%%", 100 * mfu.getAsDouble()));
        }
        if (m.memoryBytes() != null) {
            sb.append(" | mem ").append(bytes(m.memoryBytes()));
        }
        if (m.valLoss() != null) {
            sb.append(String.format(Locale.ROOT, " | val %.4f", m.valLoss()));
        }
        long done = m.step() - firstStep;
        if (done > 0 && m.step() < totalSteps) {
            double perStep = (m.elapsedSeconds() - firstElapsed) / done;
            sb.append(" | ETA ").append(duration(perStep * (totalSteps - m.step())));
        }
        return sb.toString();
    }

    /** Model FLOPs utilization at {@code tokensPerSecond}, when it can be known. */
    public OptionalDouble mfu(double tokensPerSecond) {
        if (flopsPerToken <= 0 || peakFlops.isEmpty() || !(peakFlops.getAsDouble() > 0)) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(tokensPerSecond * flopsPerToken / peakFlops.getAsDouble());
    }

    /** 950, 12.3k, 4.56M. */
    static String count(double v) {
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (v >= 1e4) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }

    /** 512 B, 3.4 MiB, 1.23 GiB. */
    static String bytes(long b) {
        if (b >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
        }
        if (b >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        }
        return b + " B";
    }

    /** 45s, 3m12s, 2h05m. */
    static String duration(double seconds) {
        long s = Math.round(Math.max(0, seconds));
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
        }
        return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
    }
}
