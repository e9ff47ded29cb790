package dev.panomni.parallel.ep;

import dev.panomni.nn.ExpertChoice;
import dev.panomni.nn.ExpertExecutor;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.parallel.comm.RecordingCommunicator;
import dev.panomni.parallel.text.Ranks;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Checkpoint;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Reductions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Both expert-parallel executors ({@link ExpertDispatch}) on two in-process ranks against the same
 * tokens through {@link ExpertExecutor#LOCAL} and against the closed form: forward outputs, the
 * gradients of the tokens and of the router weights, and the collectives each issues (the all-to-all
 * sends each token once per destination rank, not once per routed row; the all-gather moves fixed
 * sizes).
 */
class ExpertParallelExecutorTest {
    private static final int EXPERTS = 8;
    private static final int K = 3;
    private static final int TOKENS = 7;
    private static final int HIDDEN = 4;
    private static final int RANKS = 2;

    /** Rank r's inputs: t tokens [t, H], chosen experts [t*k] (distinct per token), weights [t*k], upstream gradient. */
    private record Inputs(int t, float[] tokens, long[] chosen, float[] weights, float[] upstream) {
        static Inputs of(int rank) {
            return of(rank, TOKENS);
        }

        /** Rank 0 with the usual tokens, rank 1 with fewer (packed batches need not split evenly). */
        static Inputs uneven(int rank) {
            return of(rank, rank == 0 ? TOKENS : TOKENS - 3);
        }

        static Inputs of(int rank, int tokens) {
            Random rnd = new Random(17 + rank);
            float[] x = new float[tokens * HIDDEN];
            float[] g = new float[tokens * HIDDEN];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
                g[i] = (float) rnd.nextGaussian();
            }
            long[] chosen = new long[tokens * K];
            float[] w = new float[tokens * K];
            for (int t = 0; t < tokens; t++) {
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
            return new Inputs(tokens, x, chosen, w, g);
        }

        /** The same tokens and weights routed only to rank 0's experts (a collapsed router): rank 1 gets nothing. */
        Inputs onRankZeroOnly() {
            long[] c = new long[chosen.length];
            int rankZeroExperts = EXPERTS / RANKS;
            for (int t = 0; t < this.t; t++) {
                for (int s = 0; s < K; s++) {
                    c[t * K + s] = (t + s) % rankZeroExperts;
                }
            }
            return new Inputs(t, tokens, c, weights, upstream);
        }

        /** out[t] = sum_s w[t, s] * (chosen[t, s] + 1) * x[t]: what the test's experts compute. */
        float[] closedForm() {
            float[] out = new float[this.t * HIDDEN];
            for (int t = 0; t < this.t; t++) {
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

    /** How a test layer runs. */
    private enum Path {
        /** Once, as in a forward without checkpointing. */
        PLAIN,
        /** Recomputed in the backward ({@link Checkpoint#run}). */
        RECOMPUTED
    }

    /** The layer SparseMoe would run over these inputs, without its router (the choices are given). */
    private static Tensor layer(Inputs in, ExpertExecutor executor, int firstExpert, Tensor x, Tensor w) {
        ExpertChoice choice = new ExpertChoice(Tensor.ofLongs(in.chosen(), in.t(), K), w, EXPERTS);
        return executor.execute(x, choice, scalingExperts(firstExpert));
    }

    /** One forward and backward of {@link #layer}. */
    private static Result run(Inputs in, ExpertExecutor executor, int firstExpert, Path path) {
        try (Scope s = Scope.open("ep-test")) {
            Tensor x = Tensor.of(in.tokens(), in.t(), HIDDEN).requiresGrad(true);
            Tensor w = Tensor.of(in.weights(), in.t() * K).requiresGrad(true);
            Tensor out = path == Path.RECOMPUTED
                    ? Checkpoint.run(t -> layer(in, executor, firstExpert, t[0], t[1]), x, w)
                    : layer(in, executor, firstExpert, x, w);
            Tensor loss = Reductions.sum(Arith.mul(out, Tensor.of(in.upstream(), in.t(), HIDDEN)), new int[] {0, 1},
                    false);
            loss.backward();
            return new Result(out.toFloatArray(), x.grad().toFloatArray(), w.grad().toFloatArray());
        }
    }

    /** Both ranks' results through the expert-parallel executor, each rank's collectives logged. */
    private static List<Result> runParallel(ExpertDispatch dispatch, Path path, List<List<String>> logs)
            throws Exception {
        return runParallel(dispatch, Inputs::of, path, logs);
    }

    private static List<Result> runParallel(ExpertDispatch dispatch, java.util.function.IntFunction<Inputs> inputs,
                                            Path path, List<List<String>> logs) throws Exception {
        return Ranks.run(RANKS, 10_000, world -> {
            int r = world.rank();
            Communicator comm = new RecordingCommunicator(world, logs.get(r));
            return run(inputs.apply(r), dispatch.executor(comm, EXPERTS), r * EXPERTS / RANKS, path);
        });
    }

    @ParameterizedTest
    @EnumSource(ExpertDispatch.class)
    void matchesTheLocalExecutorAndIssuesItsCollectives(ExpertDispatch dispatch) throws Exception {
        List<List<String>> logs = List.of(new ArrayList<>(), new ArrayList<>());
        List<Result> parallel = runParallel(dispatch, Path.PLAIN, logs);
        for (int r = 0; r < RANKS; r++) {
            Inputs in = Inputs.of(r);
            Result local = run(in, ExpertExecutor.LOCAL, 0, Path.PLAIN);
            Result ep = parallel.get(r);
            assertArrayEquals(in.closedForm(), local.out(), 1e-5f, "local executor against the closed form");
            assertArrayEquals(local.out(), ep.out(), 1e-5f, "rank " + r + " output");
            assertArrayEquals(local.dTokens(), ep.dTokens(), 1e-5f, "rank " + r + " token gradient");
            assertArrayEquals(local.dWeights(), ep.dWeights(), 1e-5f, "rank " + r + " router weight gradient");

            List<String> log = logs.get(r);
            if (dispatch == ExpertDispatch.ALL_TO_ALL) {
                int tokenRows = in.tokenDestinations();
                assertTrue(tokenRows < TOKENS * K, "the test's routing must repeat ranks within a token");
                assertTrue(log.contains("allToAll:" + (long) tokenRows * HIDDEN), "rank " + r + " sends "
                        + tokenRows + " token rows of " + HIDDEN + ": " + log);
                assertFalse(log.contains("allToAll:" + (long) TOKENS * K * HIDDEN), "rank " + r
                        + " must not send one row per (token, expert): " + log);
                // Forward: tokens, row indices, row weights, partial sums back; backward: the reverses of
                // the three that carry gradients.
                assertEquals(7, count(log, "allToAll"), log.toString());
                assertEquals(1, count(log, "allGather"), "one counts exchange per forward: " + log);
            } else {
                // Forward: token counts, then tokens, choices and weights gathered, partial sums reduce-scattered; backward:
                // the partial sums' gradient gathered, the tokens' and weights' reduce-scattered.
                assertEquals(List.of("allGather:" + RANKS, "allGather:" + (long) RANKS * TOKENS * HIDDEN,
                        "allGather:" + (long) RANKS * TOKENS * K, "allGather:" + (long) RANKS * TOKENS * K,
                        "reduceScatter:" + (long) RANKS * TOKENS * HIDDEN), log.subList(0, 5), "forward, after the "
                        + "token counts");
                assertEquals(5, count(log, "allGather"), log.toString());
                assertEquals(3, count(log, "reduceScatter"), log.toString());
                assertEquals(0, count(log, "allToAll"), log.toString());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(ExpertDispatch.class)
    void ranksWithDifferentTokenCountsGiveTheLocalResult(ExpertDispatch dispatch) throws Exception {
        for (Path path : Path.values()) {
            List<List<String>> logs = List.of(new ArrayList<>(), new ArrayList<>());
            List<Result> parallel = runParallel(dispatch, Inputs::uneven, path, logs);
            for (int r = 0; r < RANKS; r++) {
                Inputs in = Inputs.uneven(r);
                Result local = run(in, ExpertExecutor.LOCAL, 0, Path.PLAIN);
                assertArrayEquals(in.closedForm(), local.out(), 1e-5f, "local executor against the closed form");
                assertEquals(in.t() * HIDDEN, parallel.get(r).out().length, "rank " + r + " output rows");
                assertClose(local, parallel.get(r), path + ", rank " + r);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(ExpertDispatch.class)
    void aRecomputedLayerReplaysItsExchangesInsteadOfCommunicating(ExpertDispatch dispatch) throws Exception {
        List<List<String>> plainLogs = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<String>> logs = List.of(new ArrayList<>(), new ArrayList<>());
        List<Result> plain = runParallel(dispatch, Path.PLAIN, plainLogs);
        List<Result> recomputed = runParallel(dispatch, Path.RECOMPUTED, logs);
        for (int r = 0; r < RANKS; r++) {
            assertSame(plain.get(r), recomputed.get(r), "rank " + r + " recomputed");
            // The forward ran twice, the exchanges once: the same collectives as without recomputation.
            assertEquals(plainLogs.get(r), logs.get(r), "rank " + r);
        }
    }

    @ParameterizedTest
    @EnumSource(ExpertDispatch.class)
    void aRankWhoseExpertsGetNoTokensStillTakesPartAndGivesTheLocalResult(ExpertDispatch dispatch) throws Exception {
        for (Path path : Path.values()) {
            List<List<String>> logs = List.of(new ArrayList<>(), new ArrayList<>());
            List<Result> parallel = runParallel(dispatch, r -> Inputs.of(r).onRankZeroOnly(), path, logs);
            for (int r = 0; r < RANKS; r++) {
                Inputs in = Inputs.of(r).onRankZeroOnly();
                Result local = run(in, ExpertExecutor.LOCAL, 0, Path.PLAIN);
                assertArrayEquals(in.closedForm(), local.out(), 1e-5f, "local executor against the closed form");
                assertClose(local, parallel.get(r), path + ", rank " + r);
            }
        }
    }

    /** Equal up to the order of summation (the local executor adds a token's rows in another order). */
    private static void assertClose(Result want, Result got, String what) {
        assertArrayEquals(want.out(), got.out(), 1e-5f, what + ": output");
        assertArrayEquals(want.dTokens(), got.dTokens(), 1e-5f, what + ": token gradient");
        assertArrayEquals(want.dWeights(), got.dWeights(), 1e-5f, what + ": router weight gradient");
    }

    private static void assertSame(Result want, Result got, String what) {
        assertArrayEquals(want.out(), got.out(), 1e-6f, what + ": output");
        assertArrayEquals(want.dTokens(), got.dTokens(), 1e-6f, what + ": token gradient");
        assertArrayEquals(want.dWeights(), got.dWeights(), 1e-6f, what + ": router weight gradient");
    }

    private static long count(List<String> log, String op) {
        return log.stream().filter(e -> e.startsWith(op + ":")).count();
    }

    @ParameterizedTest
    @EnumSource(ExpertDispatch.class)
    void refusesExpertsThatDoNotSplitEvenly(ExpertDispatch dispatch) {
        InProcessGroup group = new InProcessGroup(RANKS, 10_000);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dispatch.executor(group.communicator(0), 7));
        assertTrue(e.getMessage().contains("7 experts cannot be split evenly over ep = 2"), e.getMessage());
    }
}
