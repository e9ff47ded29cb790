package dev.panomni.parallel.text;

import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.InProcessCommunicator;
import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The supervisor of the GPU suite's ranks ({@link SupervisedRanks}), on the CPU with in-process
 * worlds standing in for NCCL: what a failing, hanging or slow rank does to a run and to the runs
 * after it, so that the one-shot GPU run behaves as designed.
 */
class SupervisedRanksTest {
    /** In-process worlds whose collectives wait {@code collectiveMillis} for a missing rank; counts aborts. */
    private static SupervisedRanks.WorldsFactory inProcess(long collectiveMillis, AtomicInteger aborts) {
        return n -> {
            InProcessGroup group = new InProcessGroup(n, collectiveMillis);
            return new SupervisedRanks.Worlds() {
                @Override
                public Device device(int rank) {
                    return Device.CPU;
                }

                @Override
                public Communicator join(int rank) {
                    return group.communicator(rank);
                }

                @Override
                public void abort(Communicator c, String why) {
                    aborts.incrementAndGet();
                    ((InProcessCommunicator) c).abort(new IllegalStateException(why));
                }

                @Override
                public void close() {
                }
            };
        };
    }

    private static SupervisedRanks.Limits limits(long deadlineMillis, long slowMillis) {
        return new SupervisedRanks.Limits(Duration.ofMillis(deadlineMillis), Duration.ofMillis(200),
                Duration.ofMillis(1000), Duration.ofMillis(slowMillis));
    }

    private static float sum(Communicator world) {
        Tensor t = Tensor.full(dev.panomni.tensor.DType.F32, Device.CPU, world.rank() + 1, 1);
        world.allReduce(t, ReduceOp.SUM).await();
        return t.item();
    }

    @Test
    void resultsComeBackInRankOrderAndGroupsWork() throws Exception {
        SupervisedRanks ranks = new SupervisedRanks("test", inProcess(10_000, new AtomicInteger()), limits(10_000, 10_000));
        List<String> out = ranks.run(3, (world, device) -> {
            try (Communicator pair = world.subGroup(world.rank() < 2 ? new int[] {0, 1} : new int[] {2})) {
                return world.rank() + ":" + sum(world) + ":" + sum(pair);
            }
        });
        assertEquals(List.of("0:6.0:3.0", "1:6.0:3.0", "2:6.0:1.0"), out);
        assertNull(ranks.unusableReason());
    }

    @Test
    void aFailingRankIsTheErrorAndItsPeerWaitingInACollectiveIsAbortedAfterTheGrace() {
        AtomicInteger aborts = new AtomicInteger();
        // Collectives would wait 60 s for the failed rank: the abort must end the wait long before.
        SupervisedRanks ranks = new SupervisedRanks("test", inProcess(60_000, aborts), limits(30_000, 30_000));
        long t0 = System.nanoTime();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ranks.run(2, (world, device) -> {
            if (world.rank() == 1) {
                throw new IllegalArgumentException("bad shape on rank 1");
            }
            return sum(world);
        }));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(seconds < 10, "the peer was released after " + seconds + " s");
        assertEquals("bad shape on rank 1", e.getMessage());
        assertTrue(aborts.get() >= 2, "both ranks' worlds aborted: " + aborts.get());
        String suppressed = Arrays.toString(e.getSuppressed());
        assertTrue(suppressed.contains("rank 0 on cpu also failed") && suppressed.contains("CollectiveException"),
                suppressed);
        assertTrue(suppressed.contains("aborted every communicator because rank 1 failed"), suppressed);
        assertNull(ranks.unusableReason(), "a quick failure leaves the group usable");
    }

    @Test
    void aRankStuckOutsideCollectivesIsReportedWithItsStackAndLaterRunsAreRefused() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        SupervisedRanks ranks = new SupervisedRanks("test", inProcess(60_000, new AtomicInteger()), limits(300, 60_000));
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ranks.run(2, (world, device) -> {
                if (world.rank() == 0) {
                    awaitUninterruptibly(never);
                }
                return 0;
            }));
            assertTrue(e.getMessage().contains("1 rank thread(s) did not return") && e.getMessage().contains("rank 0")
                    && e.getMessage().contains("awaitUninterruptibly")
                    && e.getMessage().contains("passed its deadline"), e.getMessage());
            String why = ranks.unusableReason();
            assertNotNull(why);
            assertTrue(why.contains("stuck"), why);
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> ranks.run(2, (w, d) -> 0));
            assertTrue(refused.getMessage().contains("not started"), refused.getMessage());
        } finally {
            never.countDown();
        }
    }

    @Test
    void runsThatFailOnlyAfterTheirTimeoutsStopTheRest() throws Exception {
        SupervisedRanks ranks = new SupervisedRanks("test", inProcess(10_000, new AtomicInteger()), limits(10_000, 0));
        for (int i = 0; i < SupervisedRanks.SLOW_FAILURES_TOLERATED; i++) {
            assertNull(ranks.unusableReason());
            CollectiveException e = assertThrows(CollectiveException.class, () -> ranks.run(2, (world, device) -> {
                throw new CollectiveException("timed out", 1, null);
            }));
            assertInstanceOf(CollectiveException.class, e);
        }
        String why = ranks.unusableReason();
        assertNotNull(why);
        assertTrue(why.contains(SupervisedRanks.SLOW_FAILURES_TOLERATED + " runs"), why);
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        while (true) {
            try {
                latch.await();
                return;
            } catch (InterruptedException e) {
                // a stuck native call ignores interrupts too
            }
        }
    }
}
