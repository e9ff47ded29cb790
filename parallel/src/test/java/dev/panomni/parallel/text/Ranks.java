package dev.panomni.parallel.text;

import dev.panomni.parallel.comm.InProcessCommunicator;
import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Runs one body per rank on its own thread over an in-process group (the test stand-in for a job). */
public final class Ranks {
    private Ranks() {
    }

    /** A rank's program. */
    @FunctionalInterface
    public interface Body<T> {
        T run(InProcessCommunicator world) throws Exception;
    }

    /**
     * Runs {@code body} on {@code n} rank threads and returns each rank's result; a rank that throws
     * aborts the group (so the others fail fast instead of waiting for the timeout) and its exception
     * is rethrown here, the first failing rank's first.
     */
    public static <T> List<T> run(int n, long timeoutMillis, Body<T> body) throws Exception {
        InProcessGroup group = new InProcessGroup(n, timeoutMillis);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Object>> futures = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                InProcessCommunicator c = group.communicator(r);
                futures.add(pool.submit(() -> {
                    try (Scope s = Scope.open("rank")) {
                        return body.run(c);
                    } catch (Throwable e) {
                        c.abort(e);
                        return new Failure(e);
                    } finally {
                        c.close();
                    }
                }));
            }
            List<Object> raw = new ArrayList<>();
            for (Future<Object> f : futures) {
                raw.add(f.get());
            }
            Throwable first = null;
            for (Object o : raw) {
                if (o instanceof Failure(Throwable e) && !(e instanceof dev.panomni.parallel.comm.CollectiveException)) {
                    first = first == null ? e : first;
                }
            }
            for (Object o : raw) {
                if (o instanceof Failure(Throwable e)) {
                    first = first == null ? e : first;
                }
            }
            if (first != null) {
                if (first instanceof Exception ex) {
                    throw ex;
                }
                throw (Error) first;
            }
            @SuppressWarnings("unchecked")
            List<T> out = (List<T>) (List<?>) raw;
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The CPU {@link RankGroup}: ranks as threads over an in-process group (device {@link Device#CPU}),
     * each collective failing after {@code timeoutMillis} when a rank does not arrive.
     */
    public static RankGroup inProcess(long timeoutMillis) {
        return new RankGroup() {
            @Override
            public <T> List<T> run(int n, RankGroup.Body<T> body) throws Exception {
                return Ranks.run(n, timeoutMillis, world -> body.run(world, Device.CPU));
            }

            @Override
            public String describe() {
                return "in-process, cpu";
            }
        };
    }

    /** What a rank threw. */
    public record Failure(Throwable error) {
    }
}
