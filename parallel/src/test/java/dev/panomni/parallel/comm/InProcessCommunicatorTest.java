package dev.panomni.parallel.comm;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Collectives against naive results, with odd sizes and uneven splits, on 1 to 5 ranks. */
class InProcessCommunicatorTest {
    interface RankBody {
        Object run(Communicator c) throws Exception;
    }

    /** Runs body on n rank threads; returns each rank's result (or its exception). */
    static List<Object> onRanks(int n, long timeoutMs, RankBody body) throws Exception {
        InProcessGroup g = new InProcessGroup(n, timeoutMs);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Object>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                Communicator c = g.communicator(r);
                fs.add(pool.submit(() -> {
                    try (Scope s = Scope.open("rank")) {
                        return body.run(c);
                    } catch (Exception | Error e) {
                        return e;
                    } finally {
                        c.close();
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

    static float[] rankData(int rank, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.sin(rank * 31 + i * 0.7) * 10;
        }
        return v;
    }

    @Test
    void allReduceSumAvgMaxMatchNaive() throws Exception {
        for (int n : new int[] {1, 2, 3, 5}) {
            int count = 37;
            for (ReduceOp op : ReduceOp.values()) {
                List<Object> res = onRanks(n, 10_000, c -> {
                    Tensor t = Tensor.of(rankData(c.rank(), count), count);
                    c.allReduce(t, op).await();
                    return t.toFloatArray();
                });
                float[] expected = new float[count];
                for (int k = 0; k < count; k++) {
                    float acc = rankData(0, count)[k];
                    for (int r = 1; r < n; r++) {
                        float v = rankData(r, count)[k];
                        acc = switch (op) {
                            case SUM, AVG -> acc + v;
                            case MAX -> Math.max(acc, v);
                            case MIN -> Math.min(acc, v);
                        };
                    }
                    expected[k] = op == ReduceOp.AVG ? acc / n : acc;
                }
                for (Object o : res) {
                    assertArrayEquals(expected, (float[]) o, "n=" + n + " op=" + op);
                }
            }
        }
    }

    @Test
    void allGatherReduceScatterAndBroadcast() throws Exception {
        int n = 3;
        List<Object> res = onRanks(n, 10_000, c -> {
            Tensor mine = Tensor.of(rankData(c.rank(), 10), 5, 2);
            Tensor all = Tensor.empty(15, 2);
            c.allGather(mine, all).await();
            Tensor big = Tensor.of(rankData(c.rank() + 7, 21), 21);
            Tensor part = Tensor.empty(7);
            c.reduceScatter(big, part, ReduceOp.SUM).await();
            Tensor b = c.rank() == 2 ? Tensor.of(new float[] {4, 5, 6}, 3) : Tensor.zeros(3);
            c.broadcast(b, 2).await();
            return new float[][] {all.toFloatArray(), part.toFloatArray(), b.toFloatArray()};
        });
        float[] gathered = new float[30];
        for (int r = 0; r < n; r++) {
            System.arraycopy(rankData(r, 10), 0, gathered, r * 10, 10);
        }
        for (int r = 0; r < n; r++) {
            float[][] o = (float[][]) res.get(r);
            assertArrayEquals(gathered, o[0]);
            float[] exp = new float[7];
            for (int k = 0; k < 7; k++) {
                float acc = rankData(7, 21)[r * 7 + k];
                for (int q = 1; q < n; q++) {
                    acc += rankData(q + 7, 21)[r * 7 + k];
                }
                exp[k] = acc;
            }
            assertArrayEquals(exp, o[1]);
            assertArrayEquals(new float[] {4, 5, 6}, o[2]);
        }
    }

    @Test
    void allToAllWithUnevenSplits() throws Exception {
        int n = 3;
        // counts[src][dst]: rows rank src sends to rank dst.
        long[][] counts = {{1, 0, 2}, {3, 1, 0}, {0, 2, 2}};
        int width = 3;
        List<Object> res = onRanks(n, 10_000, c -> {
            int r = c.rank();
            long rows = counts[r][0] + counts[r][1] + counts[r][2];
            float[] data = new float[(int) rows * width];
            for (int i = 0; i < data.length; i++) {
                data[i] = r * 100 + i;
            }
            long[] recv = {counts[0][r], counts[1][r], counts[2][r]};
            Tensor out = Tensor.empty(recv[0] + recv[1] + recv[2], width);
            c.allToAll(Tensor.of(data, rows, width), counts[r], out, recv).await();
            return out.toFloatArray();
        });
        for (int dst = 0; dst < n; dst++) {
            List<Float> exp = new ArrayList<>();
            for (int src = 0; src < n; src++) {
                long start = 0;
                for (int k = 0; k < dst; k++) {
                    start += counts[src][k];
                }
                for (long row = start; row < start + counts[src][dst]; row++) {
                    for (int w = 0; w < width; w++) {
                        exp.add((float) (src * 100 + row * width + w));
                    }
                }
            }
            float[] got = (float[]) res.get(dst);
            assertEquals(exp.size(), got.length);
            for (int i = 0; i < got.length; i++) {
                assertEquals(exp.get(i), got[i]);
            }
        }
    }

    @Test
    void sendRecvRingAndSubGroups() throws Exception {
        int n = 4;
        List<Object> res = onRanks(n, 10_000, c -> {
            int r = c.rank();
            Tensor out = Tensor.of(new float[] {r, r * 2}, 2);
            Tensor in = Tensor.empty(2);
            Work s = c.send(out, (r + 1) % n);
            Work v = c.recv(in, (r + n - 1) % n);
            s.await();
            v.await();
            // Pairs {0,2} and {1,3} all-reduce separately.
            Communicator sub = c.subGroup(r % 2 == 0 ? new int[] {0, 2} : new int[] {1, 3});
            Tensor x = Tensor.of(new float[] {r}, 1);
            sub.allReduce(x, ReduceOp.SUM).await();
            sub.close();
            c.barrier();
            return new float[] {in.toFloatArray()[0], in.toFloatArray()[1], x.item()};
        });
        for (int r = 0; r < n; r++) {
            float[] o = (float[]) res.get(r);
            int prev = (r + n - 1) % n;
            assertArrayEquals(new float[] {prev, prev * 2, r % 2 == 0 ? 2 : 4}, o);
        }
    }

    @Test
    void aFailedRankSurfacesOnEveryRankNamingIt() throws Exception {
        long start = System.currentTimeMillis();
        List<Object> res = onRanks(3, 2_000, c -> {
            Tensor t = Tensor.ones(4);
            if (c.rank() == 1) {
                ((InProcessCommunicator) c).abort(new IllegalStateException("out of memory"));
                throw new IllegalStateException("rank 1 died");
            }
            c.allReduce(t, ReduceOp.SUM).await();
            return "unreachable";
        });
        assertTrue(System.currentTimeMillis() - start < 2_000, "abort wakes the others at once");
        for (int r : new int[] {0, 2}) {
            CollectiveException e = assertInstanceOf(CollectiveException.class, res.get(r));
            assertEquals(1, e.failedRank());
            assertTrue(e.getMessage().contains("rank 1") && e.getMessage().contains("out of memory"), e.getMessage());
        }
        // A rank that silently never arrives is named after the timeout.
        res = onRanks(2, 300, c -> {
            if (c.rank() == 0) {
                return "skipped the collective";
            }
            c.allReduce(Tensor.ones(2), ReduceOp.SUM).await();
            return "unreachable";
        });
        CollectiveException e = assertInstanceOf(CollectiveException.class, res.get(1));
        assertTrue(e.getMessage().contains("rank 0") && e.getMessage().contains("within 300 ms"), e.getMessage());
    }

    @Test
    void mismatchedArgumentsAreReportedOnAllRanks() throws Exception {
        List<Object> res = onRanks(2, 5_000, c -> {
            Tensor t = Tensor.zeros(DType.F32, Device.CPU, c.rank() == 0 ? 4 : 5);
            c.allReduce(t, ReduceOp.SUM).await();
            return "unreachable";
        });
        for (Object o : res) {
            if (!(o instanceof CollectiveException e)) {
                fail("expected a CollectiveException, got " + o);
                return;
            }
            assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("[5]"), e.getMessage());
        }
    }

    @Test
    void twoSubGroupsOverTheSameRanksAreIndependent() throws Exception {
        // As with two NCCL communicators, collectives on one never pair with the other's, whatever
        // order a rank issues them in across the two.
        List<Object> res = onRanks(2, 5_000, c -> {
            Communicator a = c.subGroup(new int[] {0, 1});
            Communicator b = c.subGroup(new int[] {0, 1});
            Tensor x = Tensor.of(new float[] {c.rank() + 1}, 1);
            Tensor y = Tensor.of(new float[] {10 * (c.rank() + 1), 0}, 2);
            Tensor gathered = Tensor.empty(4);
            Work wa;
            Work wb;
            if (c.rank() == 0) {
                wa = a.allReduce(x, ReduceOp.SUM);
                wb = b.allGather(y, gathered);
            } else {
                wb = b.allGather(y, gathered);
                wa = a.allReduce(x, ReduceOp.SUM);
            }
            wa.await();
            wb.await();
            a.close();
            b.close();
            return new float[] {x.item(), gathered.toFloatArray()[0], gathered.toFloatArray()[2]};
        });
        for (Object o : res) {
            assertArrayEquals(new float[] {3, 10, 20}, (float[]) o);
        }
    }

    @Test
    void aRankFailingInTheWorldIsNamedInItsSubGroups() throws Exception {
        List<Object> res = onRanks(3, 5_000, c -> {
            Communicator sub = c.subGroup(new int[] {0, 1, 2});
            if (c.rank() == 2) {
                ((InProcessCommunicator) c).abort(new IllegalStateException("disk full"));
                throw new IllegalStateException("rank 2 died");
            }
            sub.allReduce(Tensor.ones(3), ReduceOp.SUM).await();
            return "unreachable";
        });
        for (int r : new int[] {0, 1}) {
            CollectiveException e = assertInstanceOf(CollectiveException.class, res.get(r));
            assertEquals(2, e.failedRank(), e.getMessage());
            assertTrue(e.getMessage().contains("disk full"), e.getMessage());
        }
    }
}
