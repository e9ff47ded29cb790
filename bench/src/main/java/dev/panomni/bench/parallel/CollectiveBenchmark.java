package dev.panomni.bench.parallel;

import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.InProcessCommunicator;
import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Collectives over the {@link Communicator} SPI, reported as bandwidth the way nccl-tests does: for
 * a buffer of S bytes taking t seconds, algorithm bandwidth {@code algbw = S / t} and bus bandwidth
 * {@code busbw = algbw * f} with f = 2(n-1)/n for all-reduce and (n-1)/n for all-gather,
 * reduce-scatter and all-to-all (S is the all-reduce buffer, the gathered output, the scattered
 * input, and one rank's all-to-all send buffer).
 *
 * <p>The benchmark thread is rank 0; ranks 1..n-1 are threads that issue the same collective in a
 * loop, so each measured call is one complete collective of all n ranks. The scores of interest are
 * the auxiliary counters {@code busGB} and {@code algGB}, in GB/s (10^9 bytes). {@code backend}
 * selects the communicator: {@code inprocess} (ranks as threads of this JVM, the backend available
 * everywhere) here; an NCCL communicator plugs in through the same SPI.
 *
 * <pre>
 * ./mvnw -q -pl bench -am package -DskipTests
 * java -jar bench/target/benchmarks.jar CollectiveBenchmark -p ranks=4 -p bytes=16777216
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class CollectiveBenchmark {
    /** The collectives, with their nccl-tests bus-bandwidth factors. */
    enum Op {
        ALL_REDUCE, ALL_GATHER, REDUCE_SCATTER, ALL_TO_ALL;

        double busFactor(int n) {
            return this == ALL_REDUCE ? 2.0 * (n - 1) / n : (double) (n - 1) / n;
        }

        static Op of(String benchmark) {
            String method = benchmark.substring(benchmark.lastIndexOf('.') + 1);
            return switch (method) {
                case "allReduce" -> ALL_REDUCE;
                case "allGather" -> ALL_GATHER;
                case "reduceScatter" -> REDUCE_SCATTER;
                case "allToAll" -> ALL_TO_ALL;
                default -> throw new IllegalArgumentException("no collective for benchmark " + benchmark);
            };
        }
    }

    /** One rank's buffers for one collective of S bytes (F32 elements). */
    static final class Buffers {
        final Tensor in;
        final Tensor out;
        final long[] counts;

        Buffers(Op op, int n, long bytes, Scope scope) {
            long elems = bytes / Float.BYTES;
            long perRank = elems / n;
            switch (op) {
                case ALL_REDUCE -> {
                    in = Tensor.ones(elems).moveTo(scope);
                    out = null;
                }
                case ALL_GATHER -> {
                    in = Tensor.ones(perRank).moveTo(scope);
                    out = Tensor.empty(perRank * n).moveTo(scope);
                }
                case REDUCE_SCATTER -> {
                    in = Tensor.ones(perRank * n).moveTo(scope);
                    out = Tensor.empty(perRank).moveTo(scope);
                }
                default -> {
                    in = Tensor.ones(perRank * n).moveTo(scope);
                    out = Tensor.empty(perRank * n).moveTo(scope);
                }
            }
            counts = new long[n];
            java.util.Arrays.fill(counts, perRank);
        }

        /** Bytes S of the nccl-tests definition for this op. */
        long size(Op op) {
            return op == Op.ALL_REDUCE || op == Op.REDUCE_SCATTER ? in.numel() * Float.BYTES
                    : op == Op.ALL_GATHER ? out.numel() * Float.BYTES : in.numel() * Float.BYTES;
        }

        void run(Op op, Communicator c) {
            switch (op) {
                case ALL_REDUCE -> c.allReduce(in, ReduceOp.SUM).await();
                case ALL_GATHER -> c.allGather(in, out).await();
                case REDUCE_SCATTER -> c.reduceScatter(in, out, ReduceOp.SUM).await();
                case ALL_TO_ALL -> c.allToAll(in, counts, out, counts).await();
            }
        }
    }

    /** A group of ranks: this thread is rank 0, the others loop on the same collective. */
    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class Group {
        @Param({"2", "4"})
        int ranks;

        @Param({"1048576", "16777216"})
        long bytes;

        @Param({"inprocess"})
        String backend;

        Op op;
        Scope scope;
        InProcessCommunicator rank0;
        Buffers buffers;
        final List<Thread> helpers = new ArrayList<>();
        volatile boolean stop;

        @Setup(Level.Trial)
        public void setUp(BenchmarkParams params) {
            if (!backend.equals("inprocess")) {
                throw new IllegalArgumentException("backend '" + backend + "' is not available in this build; "
                        + "use inprocess");
            }
            op = Op.of(params.getBenchmark());
            scope = Scope.detached("collective bench");
            InProcessGroup group = new InProcessGroup(ranks, 120_000);
            rank0 = group.communicator(0);
            buffers = new Buffers(op, ranks, bytes, scope);
            for (int r = 1; r < ranks; r++) {
                InProcessCommunicator c = group.communicator(r);
                Thread t = new Thread(() -> {
                    Scope own = Scope.detached("rank " + c.rank());
                    Buffers b = new Buffers(op, ranks, bytes, own);
                    try {
                        while (!stop) {
                            b.run(op, c);
                        }
                    } catch (CollectiveException e) {
                        // the group was aborted at teardown
                    } finally {
                        own.close();
                        c.close();
                    }
                }, "bench-rank-" + r);
                t.setDaemon(true);
                t.start();
                helpers.add(t);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stop = true;
            rank0.abort(new IllegalStateException("benchmark finished"));
            for (Thread t : helpers) {
                t.join(10_000);
            }
            rank0.close();
            scope.close();
        }

        void once(Bandwidth bw) {
            buffers.run(op, rank0);
            double gb = buffers.size(op) / 1e9;
            bw.algGB += gb;
            bw.busGB += gb * op.busFactor(ranks);
        }
    }

    /** GB moved, counted per call; JMH reports them per second. */
    @State(org.openjdk.jmh.annotations.Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bandwidth {
        public double algGB;
        public double busGB;

        @Setup(Level.Iteration)
        public void reset() {
            algGB = 0;
            busGB = 0;
        }
    }

    @Benchmark
    public void allReduce(Group g, Bandwidth bw) {
        g.once(bw);
    }

    @Benchmark
    public void allGather(Group g, Bandwidth bw) {
        g.once(bw);
    }

    @Benchmark
    public void reduceScatter(Group g, Bandwidth bw) {
        g.once(bw);
    }

    @Benchmark
    public void allToAll(Group g, Bandwidth bw) {
        g.once(bw);
    }
}
