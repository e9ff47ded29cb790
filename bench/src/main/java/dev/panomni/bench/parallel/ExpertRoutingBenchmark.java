package dev.panomni.bench.parallel;

import dev.panomni.nn.ExpertOrder;
import dev.panomni.parallel.ep.ExpertDispatchPlan;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The host work of one MoE layer's forward under all-to-all expert parallelism, which its GPU waits
 * for: planning the dispatch ({@link ExpertDispatchPlan#outgoing} and {@link ExpertDispatchPlan#of});
 * and the sort of the (token, slot) choices by expert ({@link ExpertOrder#sort}, every MoE forward) on
 * the CPU backend, for scale (on a GPU the sort runs on the device). The Qwen3-MoE benchmark shape per
 * GPU: 16,384 tokens, top-8 of 64 experts, uniform random choices. Average time per call.
 *
 * <pre>
 * ./mvnw -q -pl bench -am package -DskipTests
 * java -jar bench/target/benchmarks.jar ExpertRoutingBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
public class ExpertRoutingBenchmark {
    private static final int TOKENS = 16_384;
    private static final int K = 8;
    private static final int EXPERTS = 64;

    /** Expert-parallel group size. */
    @Param({"2", "8"})
    int ranks;

    private Tensor chosen;
    private long[] tokensPerExpert;
    private long[] rowToken;
    private ExpertDispatchPlan.Outgoing outgoing;
    private long[][] counts;

    @Setup(Level.Trial)
    public void setUp() {
        long[][] all = new long[ranks][];
        ExpertDispatchPlan.Outgoing[] outs = new ExpertDispatchPlan.Outgoing[ranks];
        counts = new long[ranks][];
        try (Scope s = Scope.open("routing bench setup")) {
            for (int r = 0; r < ranks; r++) {
                all[r] = choices(new Random(17 + r));
                ExpertOrder order = ExpertOrder.sort(Tensor.ofLongs(all[r], TOKENS, K), 0, EXPERTS);
                long[] rows = order.rowToken().toLongArray();
                outs[r] = ExpertDispatchPlan.outgoing(order.tokensPerExpert(), rows, TOKENS, ranks);
                counts[r] = outs[r].countsRow(order.tokensPerExpert());
                if (r == 0) {
                    tokensPerExpert = order.tokensPerExpert();
                    rowToken = rows;
                }
            }
        }
        chosen = Tensor.ofLongs(all[0], TOKENS, K);
        outgoing = outs[0];
    }

    /** K distinct experts per token, uniformly at random. */
    private static long[] choices(Random rnd) {
        long[] c = new long[TOKENS * K];
        boolean[] taken = new boolean[EXPERTS];
        for (int t = 0; t < TOKENS; t++) {
            java.util.Arrays.fill(taken, false);
            for (int s = 0; s < K; s++) {
                int e;
                do {
                    e = rnd.nextInt(EXPERTS);
                } while (taken[e]);
                taken[e] = true;
                c[t * K + s] = e;
            }
        }
        return c;
    }

    /** Every MoE forward: the counting sort by expert, on the CPU backend. */
    @Benchmark
    public long expertOrder() {
        try (Scope s = Scope.open("order")) {
            return ExpertOrder.sort(chosen, 0, EXPERTS).tokensPerExpert()[0];
        }
    }

    /** Expert parallel, before the counts exchange: what this rank sends where. */
    @Benchmark
    public ExpertDispatchPlan.Outgoing dispatchOutgoing() {
        return ExpertDispatchPlan.outgoing(tokensPerExpert, rowToken, TOKENS, ranks);
    }

    /** Expert parallel, after the counts exchange: row indices and the regrouping by local expert. */
    @Benchmark
    public ExpertDispatchPlan dispatchPlan() {
        return ExpertDispatchPlan.of(outgoing, counts, 0);
    }
}
