package dev.panomni.parallel.comm.nccl;

import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.parallel.comm.Work;
import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshDim;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.Linalg;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The NCCL backend's single-GPU paths: every collective with one rank (identity semantics on real
 * NCCL calls), stream ordering both ways, buffers kept alive while in flight, sub-groups of one,
 * the mesh, clear errors, the rendezvous naming a missing rank, two ranks on one GPU (NCCL's
 * answer), and a collective that outlives its timeout aborting the communicator (last: it leaves
 * an aborted communicator behind).
 */
@Tag("gpu")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NcclCommunicatorGpuTest {
    private static final Device CUDA = Device.cuda(0);
    private static final NcclOptions OPTIONS = NcclOptions.defaults().withTimeout(Duration.ofSeconds(60))
            .withRendezvousTimeout(Duration.ofSeconds(20));

    @BeforeEach
    void gpu() {
        NcclTestSupport.assumeNccl();
    }

    private static NcclCommunicator one() {
        return NcclCommunicator.create(0, 1, CUDA, null, false, OPTIONS);
    }

    private static Tensor host(DType dt, int seed, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = dt.isFloating() ? (float) Math.sin(seed * 13 + i * 0.37) * 5 : (seed * 7 + i * 3) % 101 - 50;
        }
        Tensor f = Tensor.of(v, shape);
        return dt == DType.F32 ? f : GradMode.noGrad(() -> Layout.cast(f, dt));
    }

    private static Tensor gpu(Tensor t) {
        return GradMode.noGrad(() -> Layout.toDevice(t, CUDA));
    }

    /** A value no result holds (exact in every dtype used here): elements a collective forgets to write keep it. */
    private static final double POISON = -768;

    private static Tensor poisoned(DType dt, long... shape) {
        return Tensor.full(dt, CUDA, POISON, shape);
    }

    private static void assertSame(Tensor expectedHost, Tensor got, String what) {
        Tensor back = GradMode.noGrad(() -> Layout.toDevice(got, Device.CPU));
        if (expectedHost.dtype().isFloating()) {
            assertArrayEquals(expectedHost.toFloatArray(), back.toFloatArray(), 0f, what);
        } else {
            assertArrayEquals(expectedHost.toLongArray(), back.toLongArray(), what);
        }
    }

    @Test
    @Order(1)
    void everyCollectiveWithOneRankGivesIdentityResults() {
        System.err.println("NCCL version " + NcclCommunicator.version() + " on " + CudaRuntime.device(0));
        try (Scope s = Scope.open(); NcclCommunicator c = one()) {
            assertEquals(0, c.rank());
            assertEquals(1, c.size());
            for (DType dt : new DType[] {DType.F32, DType.BF16, DType.I64}) {
                Tensor ref = host(dt, 1, 37, 3);
                for (ReduceOp op : ReduceOp.values()) {
                    Tensor t = gpu(ref);
                    c.allReduce(t, op).await();
                    assertSame(ref, t, dt + " allReduce " + op);
                }
                Tensor all = poisoned(dt, 37, 3);
                c.allGather(gpu(ref), all).await();
                assertSame(ref, all, dt + " allGather");
                Tensor part = poisoned(dt, 37, 3);
                c.reduceScatter(gpu(ref), part, ReduceOp.SUM).await();
                assertSame(ref, part, dt + " reduceScatter");
                Tensor b = gpu(ref);
                c.broadcast(b, 0).await();
                assertSame(ref, b, dt + " broadcast");
                // Uneven: 5 rows in, 3 sent to (and received from) the only rank, into 4 rows whose last stays poison.
                Tensor rows = host(dt, 2, 5, 2);
                Tensor out = poisoned(dt, 4, 2);
                c.allToAll(gpu(rows), new long[] {3}, out, new long[] {3}).await();
                Tensor expected = Tensor.empty(dt, Device.CPU, 4, 2);
                GradMode.noGrad(() -> {
                    Layout.fill(expected, POISON);
                    Layout.copyInto(rows.narrow(0, 0, 3), expected.narrow(0, 0, 3));
                });
                assertSame(expected, out, dt + " allToAll");
                Tensor got = poisoned(dt, 37, 3);
                Work send = c.send(gpu(ref), 0);
                Work recv = c.recv(got, 0);
                recv.await();
                send.await();
                assertSame(ref, got, dt + " send/recv to itself");
            }
            c.barrier();
            Tensor empty = Tensor.empty(DType.F32, CUDA, 0);
            c.allReduce(empty, ReduceOp.SUM).awaitHost();
        }
    }

    @Test
    @Order(2)
    void collectivesAreOrderedAgainstTheComputeStreamBothWays() {
        long n = 32L << 20; // 128 MiB of F32: long enough that a missing wait would read stale memory
        try (Scope s = Scope.open(); NcclCommunicator c = one()) {
            for (int round = 0; round < 3; round++) {
                Tensor x = Tensor.full(DType.F32, CUDA, 1.0, n);
                for (int k = 0; k < 4; k++) {
                    Arith.addInPlace(x, x);                  // x = 16 once the compute stream gets there
                }
                Tensor y = poisoned(DType.F32, n);
                Work w = c.allGather(x, y);                  // must wait for the additions
                w.await();                                   // the compute stream must wait for the copy
                Tensor z = Arith.mulScalar(y, 0.5);
                float[] host = GradMode.noGrad(() -> Layout.toDevice(z.narrow(0, n - 1000, 1000), Device.CPU)).toFloatArray();
                for (float v : host) {
                    assertEquals(8f, v, "round " + round);
                }
                assertEquals(8f, z.narrow(0, 0, 1).item());
                Tensor r = Tensor.full(DType.F32, CUDA, 3.0, 1000);
                Work h = c.allReduce(r, ReduceOp.MAX);
                h.awaitHost();
                assertTrue(h.isDone());
                assertEquals(3f, r.narrow(0, 999, 1).item());
            }
        }
    }

    @Test
    @Order(3)
    void buffersStayAliveUntilTheirCollectiveHasFinished() {
        try (Scope s = Scope.open(); NcclCommunicator c = one()) {
            Tensor in = Tensor.full(DType.F32, CUDA, 2.0, 1 << 20);
            Tensor out = poisoned(DType.F32, 1 << 20);
            Work w = c.allGather(in, out);
            assertTrue(in.storage().referenceCount() >= 1);
            w.awaitHost();
            assertEquals(1, in.storage().referenceCount(), "released once observed complete");
            assertEquals(1, out.storage().referenceCount());
            // Closing the input before the collective is awaited: its storage outlives the tensor.
            Tensor in2 = Tensor.full(DType.F32, CUDA, 5.0, 1 << 20).moveTo(null);
            Tensor out2 = poisoned(DType.F32, 1 << 20);
            Work w2 = c.allGather(in2, out2);
            in2.close();
            w2.await();
            assertEquals(5f, out2.narrow(0, (1 << 20) - 1, 1).item());
        }
    }

    @Test
    @Order(4)
    void subGroupsOfOneAndTheMeshOverNccl() {
        try (Scope s = Scope.open(); NcclCommunicator world = one()) {
            try (Communicator sub = world.subGroup(new int[] {0}); Communicator again = world.subGroup(new int[] {0})) {
                assertInstanceOf(NcclCommunicator.class, sub);
                assertTrue(((NcclCommunicator) again).name().endsWith("#1"), ((NcclCommunicator) again).name());
                Tensor t = Tensor.full(DType.F32, CUDA, 4.0, 3);
                sub.allReduce(t, ReduceOp.SUM).await();
                again.allReduce(t, ReduceOp.AVG).await();
                assertEquals(4f, t.narrow(0, 2, 1).item());
            }
            try (DeviceMesh mesh = new DeviceMesh(new MeshShape(1, 1, 1, 1), world)) {
                for (MeshDim d : MeshDim.values()) {
                    Communicator g = mesh.group(d);
                    assertEquals(1, g.size(), d.toString());
                    Tensor t = Tensor.full(DType.F32, CUDA, 1.5, 2);
                    g.allReduce(t, ReduceOp.SUM).await();
                    assertEquals(1.5f, t.narrow(0, 1, 1).item(), d.toString());
                }
            }
        }
    }

    @Test
    @Order(5)
    void badBuffersAreClearErrors() {
        try (Scope s = Scope.open(); NcclCommunicator c = one()) {
            IllegalArgumentException host = assertThrows(IllegalArgumentException.class,
                    () -> c.allReduce(Tensor.ones(3), ReduceOp.SUM));
            assertTrue(host.getMessage().contains("allReduce") && host.getMessage().contains("cuda:0")
                    && host.getMessage().contains("Layout.toDevice"), host.getMessage());
            Tensor m = Tensor.zeros(DType.F32, CUDA, 3, 2);
            IllegalArgumentException strided = assertThrows(IllegalArgumentException.class,
                    () -> c.broadcast(m.transpose(0, 1), 0));
            assertTrue(strided.getMessage().contains("contiguous"), strided.getMessage());
            IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                    () -> c.allGather(Tensor.zeros(DType.F32, CUDA, 3), Tensor.zeros(DType.F32, CUDA, 4)));
            assertTrue(size.getMessage().contains("must hold 1 x"), size.getMessage());
            assertThrows(IllegalArgumentException.class, () -> c.send(m, 1));
            assertThrows(IllegalArgumentException.class, () -> c.allToAll(m, new long[] {4}, m, new long[] {3}));
            // Still healthy after refused calls.
            c.barrier();
        }
    }

    @Test
    @Order(6)
    void theRendezvousNamesARankThatNeverJoins() throws Exception {
        try (KeyValueStore store = KeyValueStore.serve("127.0.0.1", 0)) {
            CollectiveException e = assertThrows(CollectiveException.class, () -> NcclCommunicator.create(0, 2, CUDA,
                    store, false, OPTIONS.withRendezvousTimeout(Duration.ofMillis(500))));
            assertEquals(1, e.failedRank());
            assertTrue(e.getMessage().contains("rank 1 did not join"), e.getMessage());
        }
    }

    /**
     * NCCL allows one rank per GPU in a communicator. This records what it answers when two ranks
     * of one communicator sit on the same GPU (expected: ncclInvalidUsage, "Duplicate GPU"), and
     * that the answer comes as an exception rather than a hang.
     */
    @Test
    @Order(7)
    void twoRanksOnOneGpuAreRefusedClearly() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "two-on-one");
            t.setDaemon(true);
            return t;
        });
        try (KeyValueStore store = KeyValueStore.serve("127.0.0.1", 0)) {
            List<Future<Object>> fs = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (KeyValueStore conn = KeyValueStore.connect("127.0.0.1", store.port(), Duration.ofSeconds(5));
                         Scope s = Scope.open();
                         NcclCommunicator c = NcclCommunicator.create(rank, 2, CUDA, conn, false, OPTIONS)) {
                        Tensor t = Tensor.full(DType.F32, CUDA, rank + 1, 4);
                        c.allReduce(t, ReduceOp.SUM).awaitHost();
                        return t.narrow(0, 0, 1).item();
                    } catch (Exception | Error e) {
                        return e;
                    }
                }));
            }
            List<Object> res = new ArrayList<>();
            for (Future<Object> f : fs) {
                try {
                    res.add(f.get(30, TimeUnit.SECONDS));
                } catch (TimeoutException e) {
                    fail("two NCCL ranks on one GPU hung for 30 s instead of failing");
                }
            }
            System.err.println("two ranks of one NCCL communicator on cuda:0: " + res);
            for (Object o : res) {
                if (o instanceof Float f) {
                    assertEquals(3f, f, "NCCL accepted both ranks on one GPU: then the sum must be right");
                } else {
                    CollectiveException e = assertInstanceOf(CollectiveException.class, o);
                    assertTrue(e.getMessage().contains("ncclCommInitRank"), e.getMessage());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Last: the communicator it aborts stays behind (its buffers are deliberately never freed). */
    /**
     * An abort from another thread while this rank issues collectives back to back (a watchdog, a
     * failed peer or a benchmark's teardown): NCCL allows one thread at a time on a communicator and
     * ncclCommAbort frees it, so the abort must wait for an enqueue in progress. The issuing thread
     * ends with a CollectiveException naming the abort; the process survives (a racing abort could
     * end it with a heap corruption, as the 2-GPU collective benchmark's teardown once did).
     */
    @Test
    @Order(8)
    void anAbortFromAnotherThreadWhileIssuingEndsCleanly() throws Exception {
        for (int round = 0; round < 20; round++) {
            NcclCommunicator c = one();
            ExecutorService issuer = Executors.newSingleThreadExecutor();
            try (Scope s = Scope.open("abort-race")) {
                Tensor t = Tensor.ones(DType.F32, CUDA, 1 << 16);
                Future<Integer> loop = issuer.submit(() -> {
                    int issued = 0;
                    while (true) {
                        c.allReduce(t, ReduceOp.SUM);            // never waited for: enqueue as fast as possible
                        issued++;
                        if (issued % 64 == 0) {
                            c.allGather(t, Tensor.empty(DType.F32, CUDA, 1 << 16)).await();
                        }
                    }
                });
                Thread.sleep(5 + round);
                c.abort("test round " + round);
                java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> loop.get(30, TimeUnit.SECONDS));
                assertInstanceOf(CollectiveException.class, e.getCause());
                assertTrue(e.getCause().getMessage().contains("test round " + round), e.getCause().getMessage());
            } finally {
                issuer.shutdownNow();
                c.close();
            }
        }
    }

    @Test
    @Order(100)
    void aCollectiveOutlivingItsTimeoutAbortsTheCommunicatorAndNamesTheRank() {
        try (Scope s = Scope.open();
             NcclCommunicator c = NcclCommunicator.create(0, 1, CUDA, null, false,
                     OPTIONS.withTimeout(Duration.ofMillis(20)))) {
            // Keep the compute stream busy (24 GEMMs of 8192^3: > 50 ms even with TF32): the collective
            // waits for it and cannot finish in 20 ms.
            Tensor a = Tensor.full(DType.F32, CUDA, 0.001, 8192, 8192);
            for (int i = 0; i < 24; i++) {
                try (Scope step = Scope.open()) {
                    Linalg.matmul(a, a);
                }
            }
            Tensor in = Tensor.full(DType.F32, CUDA, 1.0, 1024);
            Tensor out = poisoned(DType.F32, 1024);
            Work w = c.allGather(in, out);
            CollectiveException e = assertThrows(CollectiveException.class, w::awaitHost);
            assertTrue(e.getMessage().contains("rank 0") && e.getMessage().contains("did not complete within 20 ms")
                    && e.getMessage().contains("aborted"), e.getMessage());
            assertNotNull(c.failure());
            CollectiveException later = assertThrows(CollectiveException.class, () -> c.allReduce(in, ReduceOp.SUM));
            assertTrue(later.getMessage().contains("refused"), later.getMessage());
        }
        CudaRuntime.device(0).synchronize();   // the device itself is fine afterwards
        try (Scope s = Scope.open(); NcclCommunicator fresh = one()) {
            Tensor t = Tensor.full(DType.F32, CUDA, 2.0, 8);
            fresh.allReduce(t, ReduceOp.SUM).awaitHost();
            assertEquals(2f, t.narrow(0, 7, 1).item());
        }
    }
}
