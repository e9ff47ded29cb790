package dev.panomni.bench.parallel;

import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.InProcessCommunicator;
import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.parallel.comm.nccl.NcclCommunicator;
import dev.panomni.parallel.comm.nccl.NcclOptions;
import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Collectives over the {@link Communicator} SPI, reported as bandwidth the way nccl-tests does: for
 * a buffer of S bytes taking t seconds, algorithm bandwidth {@code algbw = S / t} and bus bandwidth
 * {@code busbw = algbw * f} with f = 2(n-1)/n for all-reduce and (n-1)/n for all-gather,
 * reduce-scatter and all-to-all (S is the all-reduce buffer, the gathered output, the scattered
 * input, and one rank's all-to-all send buffer).
 *
 * <p>The benchmark thread is rank 0; ranks 1..n-1 are threads that issue the same collective in a
 * loop, so each measured call is one complete collective of all n ranks, waited for on the host
 * ({@link dev.panomni.parallel.comm.Work#awaitHost()}). The scores of interest are the auxiliary
 * counters {@code busGB} and {@code algGB}, in GB/s (10^9 bytes); the call rate itself is the
 * inverse of the latency. {@code backend} selects the communicator: {@code inprocess} (host
 * buffers, ranks as threads of this JVM, the backend available everywhere) or {@code nccl} (device
 * buffers, rank r on cuda:r, so {@code ranks} GPUs are needed; NCCL allows one rank per GPU). With
 * one rank the bus bandwidth is 0 by definition (nothing crosses a link): read the latency and algbw.
 *
 * <pre>
 * ./mvnw -q -pl bench -am package -DskipTests
 * java -jar bench/target/benchmarks.jar CollectiveBenchmark -p ranks=4 -p bytes=16777216
 * java -jar bench/target/benchmarks.jar CollectiveBenchmark -p backend=nccl -p ranks=8 -p bytes=268435456
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

    /** One rank's buffers for one collective of S bytes (F32 elements) on {@code device}. */
    static final class Buffers {
        final Tensor in;
        final Tensor out;
        final long[] counts;

        Buffers(Op op, int n, long bytes, Device device, Scope scope) {
            long elems = Math.max(n, bytes / Float.BYTES);
            long perRank = elems / n;
            switch (op) {
                case ALL_REDUCE -> {
                    in = Tensor.ones(DType.F32, device, elems).moveTo(scope);
                    out = null;
                }
                case ALL_GATHER -> {
                    in = Tensor.ones(DType.F32, device, perRank).moveTo(scope);
                    out = Tensor.empty(DType.F32, device, perRank * n).moveTo(scope);
                }
                case REDUCE_SCATTER -> {
                    in = Tensor.ones(DType.F32, device, perRank * n).moveTo(scope);
                    out = Tensor.empty(DType.F32, device, perRank).moveTo(scope);
                }
                default -> {
                    in = Tensor.ones(DType.F32, device, perRank * n).moveTo(scope);
                    out = Tensor.empty(DType.F32, device, perRank * n).moveTo(scope);
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
                case ALL_REDUCE -> c.allReduce(in, ReduceOp.SUM).awaitHost();
                case ALL_GATHER -> c.allGather(in, out).awaitHost();
                case REDUCE_SCATTER -> c.reduceScatter(in, out, ReduceOp.SUM).awaitHost();
                case ALL_TO_ALL -> c.allToAll(in, counts, out, counts).awaitHost();
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
        Communicator rank0;
        Buffers buffers;
        KeyValueStore store;
        final List<Thread> helpers = new ArrayList<>();
        final List<Communicator> helperComms = new CopyOnWriteArrayList<>();
        volatile boolean stop;

        @Setup(Level.Trial)
        public void setUp(BenchmarkParams params) {
            op = Op.of(params.getBenchmark());
            scope = Scope.detached("collective bench");
            switch (backend) {
                case "inprocess" -> setUpInProcess();
                case "nccl" -> setUpNccl();
                default -> throw new IllegalArgumentException("backend '" + backend + "': use inprocess or nccl");
            }
        }

        private void setUpInProcess() {
            InProcessGroup group = new InProcessGroup(ranks, 120_000);
            rank0 = group.communicator(0);
            buffers = new Buffers(op, ranks, bytes, Device.CPU, scope);
            for (int r = 1; r < ranks; r++) {
                InProcessCommunicator c = group.communicator(r);
                helperComms.add(c);
                startHelper(r, () -> c, Device.CPU);
            }
        }

        private void setUpNccl() {
            if (!NcclCommunicator.isAvailable()) {
                throw new IllegalStateException("backend nccl needs a GPU and NCCL (libnccl.so.2): run panomni doctor");
            }
            if (ranks > CudaRuntime.deviceCount()) {
                throw new IllegalArgumentException("backend nccl with ranks = " + ranks + " needs " + ranks
                        + " GPUs (one rank per GPU); this machine has " + CudaRuntime.deviceCount());
            }
            NcclOptions options = NcclOptions.defaults().withTimeout(Duration.ofMinutes(2));
            if (ranks == 1) {
                rank0 = NcclCommunicator.create(0, 1, Device.cuda(0), null, false, options);
            } else {
                try {
                    store = KeyValueStore.serve("127.0.0.1", 0);
                    for (int r = 1; r < ranks; r++) {
                        int rank = r;
                        startHelper(r, () -> {
                            Communicator c = NcclCommunicator.create(rank, ranks, Device.cuda(rank), connect(), true, options);
                            helperComms.add(c);
                            return c;
                        }, Device.cuda(r));
                    }
                    rank0 = NcclCommunicator.create(0, ranks, Device.cuda(0), connect(), true, options);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            buffers = new Buffers(op, ranks, bytes, Device.cuda(0), scope);
        }

        private KeyValueStore connect() {
            try {
                return KeyValueStore.connect("127.0.0.1", store.port(), Duration.ofSeconds(60));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void startHelper(int r, java.util.function.Supplier<Communicator> comm, Device device) {
            Thread t = new Thread(() -> {
                Scope own = Scope.detached("rank " + r);
                Communicator c = null;
                try {
                    c = comm.get();
                    Buffers b = new Buffers(op, ranks, bytes, device, own);
                    while (!stop) {
                        b.run(op, c);
                    }
                } catch (CollectiveException e) {
                    // the group was aborted at teardown
                } finally {
                    own.close();
                    if (c != null) {
                        c.close();
                    }
                }
            }, "bench-rank-" + r);
            t.setDaemon(true);
            t.start();
            helpers.add(t);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException, IOException {
            stop = true;
            // Helpers wait in a collective rank 0 no longer joins: abort the group to free them.
            if (ranks > 1) {
                if (rank0 instanceof InProcessCommunicator ip) {
                    ip.abort(new IllegalStateException("benchmark finished"));
                } else {
                    ((NcclCommunicator) rank0).abort("benchmark finished");
                    for (Communicator c : helperComms) {
                        ((NcclCommunicator) c).abort("benchmark finished");
                    }
                }
            }
            for (Thread t : helpers) {
                t.join(10_000);
            }
            rank0.close();
            scope.close();
            if (store != null) {
                store.close();
            }
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
