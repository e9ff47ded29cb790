package dev.panomni.parallel.comm;

import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Layout;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The store backend (ranks as processes, here as threads with their own store connections) gives
 * the in-process backend's results, bit for bit, for every collective; a missing rank is named.
 */
class StoreCommunicatorTest {
    interface Body {
        Object run(Communicator c) throws Exception;
    }

    /** Runs body on n ranks, each joining through the store as a launched process would. */
    static List<Object> onStoreRanks(int n, Duration timeout, Body body) throws Exception {
        try (KeyValueStore server = KeyValueStore.serve("127.0.0.1", 0)) {
            ExecutorService pool = Executors.newFixedThreadPool(n);
            try {
                List<Future<Object>> fs = new ArrayList<>();
                for (int r = 0; r < n; r++) {
                    LaunchEnv env = new LaunchEnv(r, n, r, n, "127.0.0.1", server.port());
                    fs.add(pool.submit(() -> {
                        try (Scope s = Scope.open("rank");
                             Communicator c = StoreCommunicator.join(env, true, Duration.ofSeconds(20), timeout)) {
                            return body.run(c);
                        } catch (Exception | Error e) {
                            return e;
                        }
                    }));
                }
                List<Object> out = new ArrayList<>();
                for (Future<Object> f : fs) {
                    out.add(f.get());
                }
                return out;
            } finally {
                pool.shutdownNow();
            }
        }
    }

    static float[] data(int rank, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.cos(rank * 17 + i * 0.3) * 7;
        }
        return v;
    }

    /** Every collective once, with odd sizes, uneven all-to-all splits and several dtypes. */
    static Object scenario(Communicator c) {
        int n = c.size();
        int r = c.rank();
        List<Object> out = new ArrayList<>();
        for (ReduceOp op : ReduceOp.values()) {
            Tensor f = Tensor.of(data(r, 13), 13);
            c.allReduce(f, op).await();
            out.add(f.toFloatArray());
        }
        Tensor bf = Layout.cast(Tensor.of(data(r + 3, 9), 9), DType.BF16);
        c.allReduce(bf, ReduceOp.SUM).await();
        out.add(bf.toFloatArray());
        Tensor longs = Tensor.ofLongs(new long[] {r, -r * 5L, 1L << 40}, 3);
        c.allReduce(longs, ReduceOp.MAX).await();
        out.add(longs.toLongArray());
        Tensor all = Tensor.empty(n * 5L, 2);
        c.allGather(Tensor.of(data(r, 10), 5, 2), all).await();
        out.add(all.toFloatArray());
        Tensor part = Tensor.empty(7);
        c.reduceScatter(Tensor.of(data(r + 9, 7 * n), 7L * n), part, ReduceOp.SUM).await();
        out.add(part.toFloatArray());
        Tensor b = Tensor.of(data(r, 4), 4);
        c.broadcast(b, n - 1).await();
        out.add(b.toFloatArray());
        // rank s sends (s + d) % 3 rows to rank d.
        long[] send = new long[n];
        long[] recv = new long[n];
        for (int d = 0; d < n; d++) {
            send[d] = (r + d) % 3;
            recv[d] = (d + r) % 3;
        }
        long rows = Arrays.stream(send).sum();
        Tensor x = Tensor.of(data(r * 11, (int) rows * 3), rows, 3);
        Tensor y = Tensor.empty(Arrays.stream(recv).sum(), 3);
        c.allToAll(x, send, y, recv).await();
        out.add(y.toFloatArray());
        Tensor in = Tensor.empty(2);
        Work s = c.send(Tensor.of(new float[] {r, 2 * r}, 2), (r + 1) % n);
        Work v = c.recv(in, (r + n - 1) % n);
        s.await();
        v.await();
        out.add(in.toFloatArray());
        try (Communicator sub = c.subGroup(r % 2 == 0 ? evens(n) : odds(n))) {
            Tensor z = Tensor.of(new float[] {r + 1}, 1);
            sub.allReduce(z, ReduceOp.SUM).await();
            out.add(z.toFloatArray());
        }
        c.barrier();
        return out;
    }

    static int[] evens(int n) {
        return java.util.stream.IntStream.range(0, n).filter(i -> i % 2 == 0).toArray();
    }

    static int[] odds(int n) {
        return java.util.stream.IntStream.range(0, n).filter(i -> i % 2 == 1).toArray();
    }

    @Test
    void everyCollectiveMatchesTheInProcessBackendExactly() throws Exception {
        for (int n : new int[] {1, 3}) {
            List<Object> ref = InProcessCommunicatorTest.onRanks(n, 10_000, StoreCommunicatorTest::scenario);
            List<Object> got = onStoreRanks(n, Duration.ofSeconds(20), StoreCommunicatorTest::scenario);
            for (int r = 0; r < n; r++) {
                if (got.get(r) instanceof Throwable t) {
                    throw new AssertionError("rank " + r + " failed", t);
                }
                List<?> a = (List<?>) ref.get(r);
                List<?> b = (List<?>) got.get(r);
                assertEquals(a.size(), b.size());
                for (int i = 0; i < a.size(); i++) {
                    if (a.get(i) instanceof float[] fa) {
                        assertArrayEquals(fa, (float[]) b.get(i), 0f, "n=" + n + " rank " + r + " result " + i);
                    } else {
                        assertArrayEquals((long[]) a.get(i), (long[]) b.get(i), "n=" + n + " rank " + r + " result " + i);
                    }
                }
            }
        }
    }

    @Test
    void aRankThatSkipsACollectiveIsNamedAfterTheTimeout() throws Exception {
        List<Object> res = onStoreRanks(3, Duration.ofMillis(800), c -> {
            if (c.rank() == 2) {
                return "skipped";
            }
            Tensor t = Tensor.ones(4);
            c.allReduce(t, ReduceOp.SUM).await();
            return t.toFloatArray();
        });
        for (int r = 0; r < 2; r++) {
            CollectiveException e = assertInstanceOf(CollectiveException.class, res.get(r));
            assertEquals(2, e.failedRank(), e.getMessage());
            assertTrue(e.getMessage().contains("rank 2 did not reach allReduce #0"), e.getMessage());
        }
    }

    @Test
    void mismatchedShapesAndDeviceTensorsAreClearErrors() throws Exception {
        List<Object> res = onStoreRanks(2, Duration.ofSeconds(5), c -> {
            Tensor t = Tensor.ones(c.rank() == 0 ? 3 : 4);
            c.allReduce(t, ReduceOp.SUM).await();
            return null;
        });
        CollectiveException e = assertInstanceOf(CollectiveException.class, res.get(0));
        assertTrue(e.getMessage().contains("rank 1 passed [4 elements] F32"), e.getMessage());
        List<Object> strided = onStoreRanks(1, Duration.ofSeconds(5), c -> {
            c.allReduce(Tensor.ones(3, 2).transpose(0, 1), ReduceOp.SUM).await();
            return null;
        });
        IllegalArgumentException iae = assertInstanceOf(IllegalArgumentException.class, strided.get(0));
        assertTrue(iae.getMessage().contains("allReduce") && iae.getMessage().contains("contiguous"), iae.getMessage());
    }

    @Test
    void aRankThatNeverJoinsIsNamedByTheRendezvous() throws Exception {
        try (KeyValueStore server = KeyValueStore.serve("127.0.0.1", 0)) {
            LaunchEnv env = new LaunchEnv(0, 2, 0, 2, "127.0.0.1", server.port());
            CollectiveException e = org.junit.jupiter.api.Assertions.assertThrows(CollectiveException.class,
                    () -> StoreCommunicator.join(env, true, Duration.ofMillis(500), Duration.ofSeconds(5)));
            assertEquals(1, e.failedRank());
            assertTrue(e.getMessage().contains("rank 1 did not join"), e.getMessage());
        }
    }
}
