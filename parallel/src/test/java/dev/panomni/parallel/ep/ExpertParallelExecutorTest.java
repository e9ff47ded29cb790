package dev.panomni.parallel.ep;

import dev.panomni.nn.ExpertExecutor;
import dev.panomni.nn.ExpertOrder;
import dev.panomni.nn.ExpertRouting;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.parallel.comm.RecordingCommunicator;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Checkpoint;
import dev.panomni.tensor.autograd.RecomputeStash;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Reductions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The expert-parallel executor on two in-process ranks against the same tokens through
 * {@link ExpertExecutor#LOCAL} and against the closed form: forward outputs, the gradients of the
 * tokens and of the router weights, and the all-to-all volume (each token crosses once per
 * destination rank, not once per routed row).
 */
class ExpertParallelExecutorTest {
    private static final int EXPERTS = 8;
    private static final int K = 3;
    private static final int TOKENS = 7;
    private static final int HIDDEN = 4;
    private static final int RANKS = 2;

    /** Rank r's inputs: tokens [T, H], chosen experts [T*k] (distinct per token), weights [T*k], upstream gradient. */
    private record Inputs(float[] tokens, long[] chosen, float[] weights, float[] upstream) {
        static Inputs of(int rank) {
            Random rnd = new Random(17 + rank);
            float[] x = new float[TOKENS * HIDDEN];
            float[] g = new float[TOKENS * HIDDEN];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
                g[i] = (float) rnd.nextGaussian();
            }
            long[] chosen = new long[TOKENS * K];
            float[] w = new float[TOKENS * K];
            for (int t = 0; t < TOKENS; t++) {
                // Token 0 keeps all its experts on rank 0 (three rows, one send); token 1 all on rank 1.
                List<Long> pool = new ArrayList<>();
                for (long e = 0; e < EXPERTS; e++) {
                    pool.add(e);
                }
                java.util.Collections.shuffle(pool, rnd);
                for (int s = 0; s < K; s++) {
                    chosen[t * K + s] = t == 0 ? s : t == 1 ? EXPERTS - 1 - s : pool.get(s);
                    w[t * K + s] = 0.1f + rnd.nextFloat();
                }
            }
            return new Inputs(x, chosen, w, g);
        }

        /** The same tokens and weights routed only to rank 0's experts (a collapsed router): rank 1 gets nothing. */
        Inputs onRankZeroOnly() {
            long[] c = new long[chosen.length];
            int rankZeroExperts = EXPERTS / RANKS;
            for (int t = 0; t < TOKENS; t++) {
                for (int s = 0; s < K; s++) {
                    c[t * K + s] = (t + s) % rankZeroExperts;
                }
            }
            return new Inputs(tokens, c, weights, upstream);
        }

        /** out[t] = sum_s w[t, s] * (chosen[t, s] + 1) * x[t]: what the test's experts compute. */
        float[] closedForm() {
            float[] out = new float[TOKENS * HIDDEN];
            for (int t = 0; t < TOKENS; t++) {
                for (int s = 0; s < K; s++) {
                    float scale = weights[t * K + s] * (chosen[t * K + s] + 1);
                    for (int h = 0; h < HIDDEN; h++) {
                        out[t * HIDDEN + h] += scale * tokens[t * HIDDEN + h];
                    }
                }
            }
            return out;
        }

        /** Distinct (token, owning rank) pairs: the rows a deduplicating dispatch sends. */
        int tokenDestinations() {
            Set<Long> pairs = new HashSet<>();
            for (int a = 0; a < chosen.length; a++) {
                pairs.add((a / K) * RANKS + chosen[a] / (EXPERTS / RANKS));
            }
            return pairs.size();
        }
    }

    /** Outputs, token gradients and weight gradients of one run. */
    private record Result(float[] out, float[] dTokens, float[] dWeights) {
    }

    /** Expert g scales its rows by g + 1; {@code firstExpert} is the global id of local expert 0. */
    private static ExpertExecutor.ExpertMlp scalingExperts(int firstExpert) {
        return (rows, offsets) -> {
            float[] scale = new float[(int) rows.size(0)];
            for (int e = 0; e + 1 < offsets.length; e++) {
                for (long m = offsets[e]; m < offsets[e + 1]; m++) {
                    scale[(int) m] = firstExpert + e + 1;
                }
            }
            return Arith.mul(rows, Tensor.of(scale, scale.length).unsqueeze(1));
        };
    }

    /** How a test layer reaches the executor. */
    private enum Path {
        /** As SparseMoe: the choices go to {@link ExpertExecutor#beforeHostRead} before the host reads them. */
        EARLY_COUNTS,
        /** execute alone: the executor exchanges the counts itself. */
        HOST_COUNTS,
        /** As EARLY_COUNTS, the layer recomputed in the backward ({@link Checkpoint#run}). */
        RECOMPUTED
    }

    /** The layer SparseMoe would run over these inputs, without its router (the choices are given). */
    private static Tensor layer(Inputs in, ExpertExecutor executor, int firstExpert, Path path, Tensor x, Tensor w) {
        RecomputeStash stash = RecomputeStash.current();
        if (path != Path.HOST_COUNTS && !(stash != null && stash.replaying())) {
            executor.beforeHostRead(Tensor.ofLongs(in.chosen(), TOKENS, K));
        }
        ExpertRouting routing = ExpertOrder.sort(in.chosen(), K, EXPERTS, x.device()).route(w);
        return executor.execute(x, routing, scalingExperts(firstExpert));
    }

    /** One forward and backward of {@link #layer}. */
    private static Result run(Inputs in, ExpertExecutor executor, int firstExpert, Path path) {
        try (Scope s = Scope.open("ep-test")) {
            Tensor x = Tensor.of(in.tokens(), TOKENS, HIDDEN).requiresGrad(true);
            Tensor w = Tensor.of(in.weights(), TOKENS * K).requiresGrad(true);
            Tensor out = path == Path.RECOMPUTED
                    ? Checkpoint.run(t -> layer(in, executor, firstExpert, path, t[0], t[1]), x, w)
                    : layer(in, executor, firstExpert, path, x, w);
            Tensor loss = Reductions.sum(Arith.mul(out, Tensor.of(in.upstream(), TOKENS, HIDDEN)), new int[] {0, 1},
                    false);
            loss.backward();
            return new Result(out.toFloatArray(), x.grad().toFloatArray(), w.grad().toFloatArray());
        }
    }

    /** Both ranks' results through the expert-parallel executor, each rank's collectives logged. */
    private static List<Result> runParallel(Path path, List<List<String>> logs) throws Exception {
        return runParallel(Inputs::of, path, logs);
    }

    private static List<Result> runParallel(java.util.function.IntFunction<Inputs> inputs, Path path,
                                            List<List<String>> logs) throws Exception {
        InProcessGroup group = new InProcessGroup(RANKS, 10_000);
        ExecutorService pool = Executors.newFixedThreadPool(RANKS);
        try {
            List<Future<Result>> futures = new ArrayList<>();
            for (int r = 0; r < RANKS; r++) {
                Communicator comm = new RecordingCommunicator(group.communicator(r), logs.get(r));
                Inputs in = inputs.apply(r);
                int first = r * EXPERTS / RANKS;
                futures.add(pool.submit(() -> run(in, new ExpertParallelExecutor(comm, EXPERTS), first, path)));
            }
            List<Result> out = new ArrayList<>();
            for (Future<Result> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void matchesTheLocalExecutorAndSendsEachTokenOncePerDestination() throws Exception {
        List<List<String>> logs = List.of(new ArrayList<>(), new ArrayList<>());
        List<Result> parallel = runParallel(Path.EARLY_COUNTS, logs);
        for (int r = 0; r < RANKS; r++) {
            Inputs in = Inputs.of(r);
            Result local = run(in, ExpertExecutor.LOCAL, 0, Path.HOST_COUNTS);
            Result ep = parallel.get(r);
            assertArrayEquals(in.closedForm(), local.out(), 1e-5f, "local executor against the closed form");
            assertArrayEquals(local.out(), ep.out(), 1e-5f, "rank " + r + " output");
            assertArrayEquals(local.dTokens(), ep.dTokens(), 1e-5f, "rank " + r + " token gradient");
            assertArrayEquals(local.dWeights(), ep.dWeights(), 1e-5f, "rank " + r + " router weight gradient");

            int tokenRows = in.tokenDestinations();
            assertTrue(tokenRows < TOKENS * K, "the test's routing must repeat ranks within a token");
            List<String> log = logs.get(r);
            assertTrue(log.contains("allToAll:" + (long) tokenRows * HIDDEN), "rank " + r + " sends "
                    + tokenRows + " token rows of " + HIDDEN + ": " + log);
            assertFalse(log.contains("allToAll:" + (long) TOKENS * K * HIDDEN), "rank " + r
                    + " must not send one row per (token, expert): " + log);
            // Forward: tokens, row indices, row weights, partial sums back; backward: the reverses of
            // the three that carry gradients.
            assertEquals(7, count(log, "allToAll"), log.toString());
            assertEquals(1, count(log, "allGather"), "one counts exchange per forward: " + log);
        }
    }

    @Test
    void aRecomputedLayerReplaysItsExchangesInsteadOfCommunicating() throws Exception {
        List<List<String>> plainLogs = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<String>> logs = List.of(new ArrayList<>(), new ArrayList<>());
        List<Result> plain = runParallel(Path.EARLY_COUNTS, plainLogs);
        List<Result> recomputed = runParallel(Path.RECOMPUTED, logs);
        for (int r = 0; r < RANKS; r++) {
            assertSame(plain.get(r), recomputed.get(r), "rank " + r + " recomputed");
            // The forward ran twice, the exchanges once: the same collectives as without recomputation.
            assertEquals(plainLogs.get(r), logs.get(r), "rank " + r);
        }
    }

    @Test
    void withoutTheEarlyCountsTheExecutorExchangesThemItself() throws Exception {
        List<List<String>> earlyLogs = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<String>> logs = List.of(new ArrayList<>(), new ArrayList<>());
        List<Result> early = runParallel(Path.EARLY_COUNTS, earlyLogs);
        List<Result> host = runParallel(Path.HOST_COUNTS, logs);
        for (int r = 0; r < RANKS; r++) {
            assertSame(early.get(r), host.get(r), "rank " + r + " with host counts");
            assertEquals(1, count(logs.get(r), "allGather"), logs.get(r).toString());
            assertEquals(count(earlyLogs.get(r), "allToAll"), count(logs.get(r), "allToAll"));
        }
    }

    @Test
    void aRankWhoseExpertsGetNoTokensStillTakesPartAndGivesTheLocalResult() throws Exception {
        for (Path path : Path.values()) {
            List<List<String>> logs = List.of(new ArrayList<>(), new ArrayList<>());
            List<Result> parallel = runParallel(r -> Inputs.of(r).onRankZeroOnly(), path, logs);
            for (int r = 0; r < RANKS; r++) {
                Inputs in = Inputs.of(r).onRankZeroOnly();
                Result local = run(in, ExpertExecutor.LOCAL, 0, Path.HOST_COUNTS);
                assertArrayEquals(in.closedForm(), local.out(), 1e-5f, "local executor against the closed form");
                assertSame(local, parallel.get(r), path + ", rank " + r);
            }
        }
    }

    @Test
    void earlyCountsFromOtherChoicesAreRefused() throws Exception {
        InProcessGroup group = new InProcessGroup(RANKS, 10_000);
        ExecutorService pool = Executors.newFixedThreadPool(RANKS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int r = 0; r < RANKS; r++) {
                ExpertParallelExecutor executor = new ExpertParallelExecutor(group.communicator(r), EXPERTS);
                Inputs in = Inputs.of(r);
                futures.add(pool.submit(() -> {
                    try (Scope s = Scope.open("ep-test")) {
                        long[] other = new long[TOKENS * K];
                        for (int a = 0; a < other.length; a++) {
                            other[a] = a % K;                       // every token to experts 0..K-1
                        }
                        executor.beforeHostRead(Tensor.ofLongs(other, TOKENS, K));
                        Tensor x = Tensor.of(in.tokens(), TOKENS, HIDDEN);
                        Tensor w = Tensor.of(in.weights(), TOKENS * K);
                        return executor.execute(x, ExpertOrder.sort(in.chosen(), K, EXPERTS, x.device()).route(w),
                                scalingExperts(0));
                    }
                }));
            }
            for (Future<?> f : futures) {
                ExecutionException e = assertThrows(ExecutionException.class, f::get);
                assertTrue(e.getCause() instanceof IllegalStateException, String.valueOf(e.getCause()));
                assertTrue(e.getCause().getMessage().contains("beforeHostRead must get the same choices"),
                        e.getCause().getMessage());
            }
        } finally {
            pool.shutdown();
        }
    }

    private static void assertSame(Result want, Result got, String what) {
        assertArrayEquals(want.out(), got.out(), 1e-6f, what + ": output");
        assertArrayEquals(want.dTokens(), got.dTokens(), 1e-6f, what + ": token gradient");
        assertArrayEquals(want.dWeights(), got.dWeights(), 1e-6f, what + ": router weight gradient");
    }

    private static long count(List<String> log, String op) {
        return log.stream().filter(e -> e.startsWith(op + ":")).count();
    }

    @Test
    void refusesExpertsThatDoNotSplitEvenly() {
        InProcessGroup group = new InProcessGroup(RANKS, 10_000);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ExpertParallelExecutor(group.communicator(0), 7));
        assertTrue(e.getMessage().contains("7 experts cannot be split evenly over ep = 2"), e.getMessage());
    }
}
