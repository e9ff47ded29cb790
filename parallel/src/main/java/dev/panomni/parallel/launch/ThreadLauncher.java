package dev.panomni.parallel.launch;

import dev.panomni.parallel.comm.InProcessGroup;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs the ranks of a job as threads of this JVM ({@code panomni launch --threads}): CPU ranks
 * share one {@link InProcessGroup}, GPU ranks meet through a rendezvous store this launcher serves
 * on a free local port (NCCL between the GPUs of this host). Each rank thread sees its place in the
 * job through {@link #context()} (and {@link LaunchEnv#current()}), since threads cannot have
 * environment variables of their own.
 *
 * <p>A rank that throws or returns a non-zero exit code ends the job: the in-process group is
 * aborted (so the other CPU ranks fail in their next collective instead of waiting), the others get
 * a grace period to finish, and the outcome names the rank. Threads still running after it are
 * daemons, left for the JVM's exit.
 */
public final class ThreadLauncher {
    /**
     * One rank thread's view of the job.
     *
     * @param env               its rank, the world size and the store's address
     * @param group             the in-process group of the CPU ranks
     * @param rendezvousTimeout how long groups wait for all ranks to join
     * @param collectiveTimeout how long a collective waits for the slowest rank
     */
    public record RankContext(LaunchEnv env, InProcessGroup group, Duration rendezvousTimeout,
                              Duration collectiveTimeout) {
    }

    /** A rank's program: returns its exit code. */
    @FunctionalInterface
    public interface RankMain {
        int run(int rank) throws Exception;
    }

    private static final ThreadLocal<RankContext> CONTEXT = new ThreadLocal<>();

    private ThreadLauncher() {
    }

    /** The calling rank thread's context, or null outside a threads-mode job. */
    public static RankContext context() {
        return CONTEXT.get();
    }

    private record Result(int rank, int code, Throwable error) {
    }

    /**
     * Runs {@code nproc} ranks of {@code main}, each on its own thread, and waits for all of them.
     *
     * @param grace how long the others may take to finish once one rank has failed
     */
    public static ProcessLauncher.Outcome run(int nproc, Duration rendezvousTimeout, Duration collectiveTimeout,
                                              Duration grace, RankMain main) throws IOException, InterruptedException {
        if (nproc < 1) {
            throw new IllegalArgumentException("--nproc-per-node must be >= 1, got " + nproc);
        }
        InProcessGroup group = new InProcessGroup(nproc, collectiveTimeout.toMillis());
        BlockingQueue<Result> results = new LinkedBlockingQueue<>();
        try (KeyValueStore store = KeyValueStore.serve("127.0.0.1", 0)) {
            for (int r = 0; r < nproc; r++) {
                int rank = r;
                RankContext ctx = new RankContext(new LaunchEnv(r, nproc, r, nproc, "127.0.0.1", store.port()), group,
                        rendezvousTimeout, collectiveTimeout);
                Thread t = new Thread(() -> {
                    CONTEXT.set(ctx);
                    try {
                        results.add(new Result(rank, main.run(rank), null));
                    } catch (Throwable e) {
                        results.add(new Result(rank, 1, e));
                    } finally {
                        CONTEXT.remove();
                    }
                }, "rank-" + r);
                t.setDaemon(true);
                t.start();
            }
            for (int done = 0; done < nproc; done++) {
                Result res = results.take();
                if (res.code() == 0 && res.error() == null) {
                    continue;
                }
                String why = res.error() != null ? "failed: " + res.error() : "exited with code " + res.code();
                group.abort(res.rank(), why);
                long deadline = System.nanoTime() + grace.toNanos();
                for (int left = nproc - done - 1; left > 0; left--) {
                    long wait = deadline - System.nanoTime();
                    if (wait <= 0 || results.poll(wait, TimeUnit.NANOSECONDS) == null) {
                        break;
                    }
                }
                return new ProcessLauncher.Outcome(res.code() == 0 ? 1 : res.code(), res.rank(),
                        "rank " + res.rank() + " " + why + "; stopped the other ranks");
            }
        }
        return new ProcessLauncher.Outcome(0, -1, "all " + nproc + " ranks finished");
    }
}
