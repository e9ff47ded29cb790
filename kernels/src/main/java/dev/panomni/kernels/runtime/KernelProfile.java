package dev.panomni.kernels.runtime;

import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Device time per kernel, for finding where a training step goes ({@code -Dpanomni.cuda.profile=true}):
 * every kernel launch and cuBLASLt product is bracketed by two timing events on its stream, and
 * {@link #report} adds up the elapsed times by name. Off by default: the events cost a few
 * microseconds per launch. The device time not covered by any kernel, set against the wall time,
 * is the time the GPU waited for the host.
 */
public final class KernelProfile {
    /** Whether launches are being timed (system property {@code panomni.cuda.profile}). */
    public static final boolean ENABLED = Boolean.getBoolean("panomni.cuda.profile");

    private record Pending(String name, CudaDevice device, CudaEvent start, CudaEvent end) {
    }

    /** Totals of one name. */
    private static final class Total {
        long count;
        double millis;
    }

    private static final List<Pending> PENDING = new ArrayList<>();
    /** Spare timing events per device: an event records only on its own device's streams. */
    private static final Map<CudaDevice, ArrayDeque<CudaEvent>> FREE = new HashMap<>();
    private static final Map<String, Total> TOTALS = new HashMap<>();
    private static int nextDrain = 4096;

    private KernelProfile() {
    }

    /** Records the start of {@code name} on {@code stream}; pass the result to {@link #end}. */
    public static Object begin(CudaStream stream, String name) {
        synchronized (PENDING) {
            CudaEvent start = event(stream.device());
            start.record(stream);
            return new Pending(name, stream.device(), start, event(stream.device()));
        }
    }

    /** Records the end of the launch begun with {@code token}. */
    public static void end(CudaStream stream, Object token) {
        Pending p = (Pending) token;
        synchronized (PENDING) {
            p.end().record(stream);
            PENDING.add(p);
            if (PENDING.size() >= nextDrain) {
                drain(false);
                nextDrain = PENDING.size() + 4096;
            }
        }
    }

    private static CudaEvent event(CudaDevice device) {
        CudaEvent e = FREE.computeIfAbsent(device, d -> new ArrayDeque<>()).poll();
        return e != null ? e : device.newEvent(true);
    }

    /**
     * Adds the recorded launches to the totals: every one when {@code wait} (the caller knows the work
     * has finished or may block for it), else only those already finished. A launch thread must never
     * block here on unfinished work: with ranks as threads of one process, the work may be waiting
     * for a collective that another rank, blocked on this profile's lock, has yet to issue.
     */
    private static void drain(boolean wait) {
        java.util.Iterator<Pending> it = PENDING.iterator();
        while (it.hasNext()) {
            Pending p = it.next();
            if (wait) {
                p.end().synchronize();
            } else if (!p.end().isComplete()) {
                continue;
            }
            Total t = TOTALS.computeIfAbsent(p.name(), k -> new Total());
            t.count++;
            t.millis += p.end().elapsedMillis(p.start());
            FREE.get(p.device()).add(p.start());
            FREE.get(p.device()).add(p.end());
            it.remove();
        }
    }

    /** Forgets everything recorded so far (after warm-up steps). */
    public static void reset() {
        synchronized (PENDING) {
            drain(true);
            TOTALS.clear();
        }
    }

    /**
     * Prints the {@code top} names by total device time, per step ({@code steps} steps recorded), and
     * their sum.
     */
    public static void report(PrintStream out, int steps, int top) {
        synchronized (PENDING) {
            drain(true);
            List<Map.Entry<String, Total>> rows = new ArrayList<>(TOTALS.entrySet());
            rows.sort((a, b) -> Double.compare(b.getValue().millis, a.getValue().millis));
            double sum = rows.stream().mapToDouble(e -> e.getValue().millis).sum();
            out.printf(Locale.ROOT, "[profile] kernel device time per step: %.1f ms in %d launches%n", sum / steps,
                    rows.stream().mapToLong(e -> e.getValue().count).sum() / steps);
            for (int i = 0; i < Math.min(top, rows.size()); i++) {
                Total t = rows.get(i).getValue();
                out.printf(Locale.ROOT, "[profile] %8.2f ms %6d x %8.1f us  %s%n", t.millis / steps, t.count / steps,
                        1000 * t.millis / t.count, rows.get(i).getKey());
            }
        }
    }
}
