package dev.panomni.tensor.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Splits a range of independent work items over the CPU's cores. Small ranges run on the calling
 * thread, so tiny ops pay no scheduling cost.
 */
public final class CpuParallel {
    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1, Runtime.getRuntime().availableProcessors()));

    private CpuParallel() {
    }

    /** A body over items [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(long start, long end);
    }

    /** Number of worker threads. */
    public static int threads() {
        return POOL.getParallelism();
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code grain} items, in parallel when
     * there is more than one chunk.
     */
    public static void forRange(long n, long grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int threads = threads();
        if (threads == 1 || n <= grain) {
            body.run(0, n);
            return;
        }
        long chunks = Math.min((n + grain - 1) / grain, threads * 4L);
        long per = (n + chunks - 1) / chunks;
        if (Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL) {
            // Already inside a parallel region: run inline rather than nest.
            body.run(0, n);
            return;
        }
        POOL.invoke(new Split(body, 0, n, per));
    }

    private static final class Split extends RecursiveAction {
        private final RangeBody body;
        private final long start;
        private final long end;
        private final long per;

        Split(RangeBody body, long start, long end, long per) {
            this.body = body;
            this.start = start;
            this.end = end;
            this.per = per;
        }

        @Override
        protected void compute() {
            if (end - start <= per) {
                body.run(start, end);
                return;
            }
            long mid = start + ((end - start) / per / 2) * per;
            if (mid <= start) {
                mid = start + per;
            }
            invokeAll(new Split(body, start, mid, per), new Split(body, mid, end, per));
        }
    }
}
