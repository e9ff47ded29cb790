package dev.panomni.parallel.comm;

import dev.panomni.parallel.comm.nccl.NcclCommunicator;
import dev.panomni.parallel.comm.nccl.NcclOptions;
import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.parallel.launch.ProcessLauncher;
import dev.panomni.parallel.launch.ThreadLauncher;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The backend each launch mode and device gets, and how a failing rank ends a threads-mode job. */
class CommunicatorsTest {
    private static final Duration T = Duration.ofSeconds(20);

    @Test
    void aSingleCpuProcessGetsAnInProcessGroupOfOne() {
        try (Scope s = Scope.open(); Communicator c = Communicators.fromEnvironment(LaunchEnv.single(), Device.CPU, T, T)) {
            assertInstanceOf(InProcessCommunicator.class, c);
            assertEquals(1, c.size());
            Tensor t = Tensor.ones(3);
            c.allReduce(t, ReduceOp.SUM).await();
            assertEquals(3f, t.sum().item());
        }
    }

    @Test
    void cpuRanksAsProcessesGoThroughTheStore() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        int p = port;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Float>> fs = new java.util.ArrayList<>();
            for (int r = 0; r < 2; r++) {
                LaunchEnv env = new LaunchEnv(r, 2, r, 2, "127.0.0.1", p);
                fs.add(pool.submit(() -> {
                    try (Scope s = Scope.open(); Communicator c = Communicators.fromEnvironment(env, Device.CPU, T, T)) {
                        assertInstanceOf(StoreCommunicator.class, c);
                        Tensor t = Tensor.full(dev.panomni.tensor.DType.F32, Device.CPU, env.rank() + 1, 2);
                        c.allReduce(t, ReduceOp.SUM).await();
                        return t.toFloatArray()[1];
                    }
                }));
            }
            assertEquals(3f, fs.get(0).get());
            assertEquals(3f, fs.get(1).get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void threadsModeRanksShareTheLaunchersInProcessGroup() throws Exception {
        Map<Integer, Float> sums = new ConcurrentHashMap<>();
        ProcessLauncher.Outcome o = ThreadLauncher.run(3, T, T, Duration.ofSeconds(5), rank -> {
            LaunchEnv env = LaunchEnv.current();
            assertEquals(rank, env.rank());
            assertEquals(3, env.worldSize());
            try (Scope s = Scope.open(); Communicator c = Communicators.fromEnvironment(env, Device.CPU)) {
                assertInstanceOf(InProcessCommunicator.class, c);
                Tensor t = Tensor.full(dev.panomni.tensor.DType.F32, Device.CPU, rank + 1, 1);
                c.allReduce(t, ReduceOp.SUM).await();
                sums.put(rank, t.item());
            }
            return 0;
        });
        assertEquals(0, o.exitCode(), o.message());
        assertEquals(Map.of(0, 6f, 1, 6f, 2, 6f), sums);
    }

    @Test
    void aFailingRankThreadEndsTheJobAndIsNamed() throws Exception {
        long start = System.nanoTime();
        ProcessLauncher.Outcome o = ThreadLauncher.run(3, T, Duration.ofSeconds(60), Duration.ofSeconds(10), rank -> {
            try (Scope s = Scope.open(); Communicator c = Communicators.fromEnvironment(LaunchEnv.current(), Device.CPU)) {
                if (rank == 1) {
                    throw new IllegalStateException("rank 1 ran out of data");
                }
                // The others wait in a collective rank 1 never joins: the launcher's abort must free them.
                c.allReduce(Tensor.ones(2), ReduceOp.SUM).await();
                return 0;
            }
        });
        assertTrue((System.nanoTime() - start) / 1e9 < 30, "ended by the abort, not the 60 s timeout");
        assertEquals(1, o.failedRank());
        assertTrue(o.message().contains("rank 1 failed") && o.message().contains("ran out of data"), o.message());
    }

    @Test
    void ncclNeedsACudaDeviceAndSaysWhatIsMissing() throws Exception {
        IllegalArgumentException cpu = assertThrows(IllegalArgumentException.class,
                () -> NcclCommunicator.create(0, 1, Device.CPU, null, false, NcclOptions.defaults()));
        assertTrue(cpu.getMessage().contains("CUDA tensors"), cpu.getMessage());
        assumeFalse(NcclCommunicator.isAvailable(), "this machine has CUDA and NCCL: the GPU tests cover it");
        IllegalStateException none = assertThrows(IllegalStateException.class,
                () -> Communicators.fromEnvironment(LaunchEnv.single(), Device.cuda(0), T, T));
        assertTrue(none.getMessage().contains("cuda:0") && (none.getMessage().contains("CUDA is not usable")
                || none.getMessage().contains("NCCL")), none.getMessage());
        try (KeyValueStore store = KeyValueStore.serve("127.0.0.1", 0)) {
            assertThrows(IllegalStateException.class,
                    () -> NcclCommunicator.create(0, 2, Device.cuda(0), store, false, NcclOptions.defaults()));
        }
    }

    @Test
    void timeoutVariablesAreSeconds() {
        assertEquals(Duration.ofMillis(1500), Communicators.seconds(Map.of("X", "1.5"), "X", Duration.ZERO));
        assertEquals(Duration.ofSeconds(7), Communicators.seconds(Map.of(), "X", Duration.ofSeconds(7)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Communicators.seconds(Map.of("X", "soon"), "X", Duration.ZERO));
        assertTrue(e.getMessage().contains("X='soon'"), e.getMessage());
    }
}
