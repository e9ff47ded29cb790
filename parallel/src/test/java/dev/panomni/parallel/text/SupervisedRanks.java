package dev.panomni.parallel.text;

import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A {@link RankGroup} for runs that get one shot on a machine, where a hang must not eat its time:
 * one thread per rank, each joining its world through {@link Worlds}, watched by the calling thread.
 * <ul>
 *   <li>when a rank fails, the others get {@link Limits#abortGrace} to finish or fail on their own;
 *       then every communicator of every rank (the world and all groups made from it, which
 *       {@link TrackingCommunicator} records) is aborted and the worlds' meeting point closed, so
 *       ranks waiting in a collective or a rendezvous fail at once instead of after their timeouts;</li>
 *   <li>the whole run has a {@link Limits#deadline}, after which the same happens;</li>
 *   <li>rank threads that still have not returned {@link Limits#afterAbort} after an abort are
 *       reported with their stacks, and a run that leaves such threads behind, or the
 *       {@link #SLOW_FAILURES_TOLERATED}nd run that failed only after {@link Limits#slowRun}, makes
 *       {@link #unusableReason()} non-null: later runs refuse to start (tests skip with the reason)
 *       rather than each waiting out its own timeouts.</li>
 * </ul>
 * The error thrown is the first failing rank's root cause (a non-collective error in preference to
 * the collective errors it caused on the others), with the other ranks' errors, the stacks of hung
 * threads and a line about the run attached as suppressed exceptions.
 */
public final class SupervisedRanks implements RankGroup {
    /** Runs that failed slowly before later ones are refused. */
    public static final int SLOW_FAILURES_TOLERATED = 2;

    /** How a run's ranks meet. */
    public interface Worlds extends AutoCloseable {
        /** The device of {@code rank}. */
        Device device(int rank);

        /** Joins rank {@code rank}'s world (called on the rank's thread; may wait for the others). */
        Communicator join(int rank) throws Exception;

        /** Ends {@code c} (a world or one of its groups) from another thread, so that its waits fail now. */
        void abort(Communicator c, String why);

        /**
         * Closes the meeting point and any connections to it (so a rendezvous still waiting fails): called from
         * the supervisor on an abort and at the end of the run, so it must be idempotent.
         */
        @Override
        void close();
    }

    /** Opens the worlds of one run of {@code n} ranks. */
    @FunctionalInterface
    public interface WorldsFactory {
        Worlds open(int n) throws Exception;
    }

    /**
     * @param deadline   how long a whole run may take
     * @param abortGrace how long the other ranks may take to finish once one has failed
     * @param afterAbort how long rank threads may take to return after the abort
     * @param slowRun    a failed run that took at least this long ended by a timeout (the collective timeout)
     */
    public record Limits(Duration deadline, Duration abortGrace, Duration afterAbort, Duration slowRun) {
    }

    private final String description;
    private final WorldsFactory factory;
    private final Limits limits;
    private volatile String wedged;
    private volatile String lastSlowFailure;
    private volatile int slowFailures;

    public SupervisedRanks(String description, WorldsFactory factory, Limits limits) {
        this.description = description;
        this.factory = factory;
        this.limits = limits;
    }

    @Override
    public String describe() {
        return description;
    }

    /**
     * Why later runs should not start (an earlier run left rank threads stuck, or runs kept failing
     * only after their timeouts), or null.
     */
    public String unusableReason() {
        if (wedged != null) {
            return wedged;
        }
        if (slowFailures >= SLOW_FAILURES_TOLERATED) {
            return slowFailures + " runs of " + description + " already failed only after their timeouts (last: "
                    + lastSlowFailure + "); the rest are skipped rather than each waiting out its own";
        }
        return null;
    }

    @Override
    public <T> List<T> run(int n, Body<T> body) throws Exception {
        String unusable = unusableReason();
        if (unusable != null) {
            throw new IllegalStateException(description + ": not started: " + unusable);
        }
        List<Communicator> groups = new CopyOnWriteArrayList<>();
        AtomicReferenceArray<Object> results = new AtomicReferenceArray<>(n);
        AtomicReferenceArray<Throwable> errors = new AtomicReferenceArray<>(n);
        AtomicReferenceArray<Boolean> finished = new AtomicReferenceArray<>(n);
        CountDownLatch done = new CountDownLatch(n);
        Thread[] threads = new Thread[n];
        long start = System.nanoTime();
        String abortReason = null;
        Worlds worlds = factory.open(n);
        try {
            for (int r = 0; r < n; r++) {
                int rank = r;
                threads[r] = new Thread(() -> {
                    try {
                        results.set(rank, runRank(worlds, rank, body, groups));
                    } catch (Throwable e) {
                        errors.set(rank, e);
                    } finally {
                        finished.set(rank, true);
                        done.countDown();
                    }
                }, "supervised-rank-" + r);
                threads[r].setDaemon(true);
                threads[r].start();
            }
            long firstFailure = 0;
            long abortedAt = 0;
            while (!done.await(20, TimeUnit.MILLISECONDS)) {
                long now = System.nanoTime();
                if (abortReason == null) {
                    int failed = firstFailed(errors, n);
                    if (failed >= 0 && firstFailure == 0) {
                        firstFailure = now;
                    }
                    if (firstFailure != 0 && now - firstFailure > limits.abortGrace().toNanos()) {
                        abortReason = "rank " + failed + " failed (" + errors.get(failed) + ") and the others did not "
                                + "finish within " + seconds(limits.abortGrace().toNanos());
                    } else if (now - start > limits.deadline().toNanos()) {
                        abortReason = "the run passed its deadline of " + seconds(limits.deadline().toNanos());
                    }
                    if (abortReason != null) {
                        abortAll(worlds, groups, abortReason);
                        abortedAt = now;
                    }
                } else if (now - abortedAt > limits.afterAbort().toNanos()) {
                    break;
                }
            }
        } finally {
            worlds.close();
        }
        long elapsed = System.nanoTime() - start;
        List<String> hung = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            if (finished.get(r) == null) {
                hung.add(stack(threads[r], r));
            }
        }
        Throwable root = rootCause(errors, n);
        if (root == null && hung.isEmpty()) {
            List<T> out = new ArrayList<>(n);
            for (int r = 0; r < n; r++) {
                @SuppressWarnings("unchecked")
                T t = (T) results.get(r);
                out.add(t);
            }
            return out;
        }
        String what = description + ", " + n + " ranks, " + seconds(elapsed)
                + (abortReason != null ? "; aborted every communicator because " + abortReason : "");
        if (!hung.isEmpty()) {
            wedged = "an earlier run (" + what + ") left " + hung.size() + " rank thread(s) stuck";
        }
        if (elapsed >= limits.slowRun().toNanos()) {
            lastSlowFailure = what;
            slowFailures++;
        }
        IllegalStateException hangs = hung.isEmpty() ? null : new IllegalStateException(hung.size()
                + " rank thread(s) did not return " + seconds(limits.afterAbort().toNanos()) + " after the abort ("
                + what + "):\n" + String.join("\n", hung));
        if (root == null) {
            throw hangs;
        }
        for (int r = 0; r < n; r++) {
            Throwable e = errors.get(r);
            if (e != null && e != root) {
                root.addSuppressed(new IllegalStateException("rank " + r + " on " + worlds.device(r) + " also failed: "
                        + e, e));
            }
        }
        if (hangs != null) {
            root.addSuppressed(hangs);
        }
        root.addSuppressed(new IllegalStateException("run: " + what));
        if (root instanceof Exception e) {
            throw e;
        }
        throw (Error) root;
    }

    private static <T> T runRank(Worlds worlds, int rank, Body<T> body, List<Communicator> groups) throws Exception {
        try (Scope s = Scope.open("rank " + rank);
             Communicator world = new TrackingCommunicator(worlds.join(rank), groups)) {
            return body.run(world, worlds.device(rank));
        }
    }

    /** The first rank's error that is not a collective error (those are consequences), else the first error. */
    private static Throwable rootCause(AtomicReferenceArray<Throwable> errors, int n) {
        for (int r = 0; r < n; r++) {
            if (errors.get(r) != null && !(errors.get(r) instanceof CollectiveException)) {
                return errors.get(r);
            }
        }
        for (int r = 0; r < n; r++) {
            if (errors.get(r) != null) {
                return errors.get(r);
            }
        }
        return null;
    }

    private static int firstFailed(AtomicReferenceArray<Throwable> errors, int n) {
        for (int r = 0; r < n; r++) {
            if (errors.get(r) != null) {
                return r;
            }
        }
        return -1;
    }

    private static void abortAll(Worlds worlds, List<Communicator> groups, String why) {
        System.err.println("SupervisedRanks: aborting " + groups.size() + " communicators: " + why);
        for (Communicator c : groups) {
            try {
                worlds.abort(c, why);
            } catch (RuntimeException e) {
                System.err.println("SupervisedRanks: aborting " + c + " failed: " + e);
            }
        }
        worlds.close();
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }

    private static String stack(Thread t, int rank) {
        StringBuilder sb = new StringBuilder("  rank " + rank + " (thread " + t.getName() + ", " + t.getState() + "):");
        StackTraceElement[] frames = t.getStackTrace();
        for (int i = 0; i < Math.min(30, frames.length); i++) {
            sb.append("\n    at ").append(frames[i]);
        }
        return sb.toString();
    }
}
