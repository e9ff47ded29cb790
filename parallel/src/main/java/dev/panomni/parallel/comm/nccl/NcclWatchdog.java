package dev.panomni.parallel.comm.nccl;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One daemon thread per process that watches every live {@link NcclCommunicator}: it notices
 * finished collectives (releasing their buffers), polls {@code ncclCommGetAsyncError} while work is
 * in flight, and aborts a communicator whose oldest collective has outlived its timeout, so a dead
 * peer ends in an exception (or, for launched ranks, a process exit) rather than a hang.
 */
final class NcclWatchdog {
    static final NcclWatchdog INSTANCE = new NcclWatchdog();

    private static final long BUSY_POLL_MILLIS = 5;
    private static final long IDLE_POLL_MILLIS = 200;

    private final Set<NcclCommunicator> watched = ConcurrentHashMap.newKeySet();
    private final Object signal = new Object();
    private Thread thread;

    private NcclWatchdog() {
    }

    void register(NcclCommunicator c) {
        watched.add(c);
        synchronized (signal) {
            if (thread == null) {
                thread = new Thread(this::loop, "nccl-watchdog");
                thread.setDaemon(true);
                thread.start();
            }
        }
    }

    void unregister(NcclCommunicator c) {
        watched.remove(c);
    }

    /** New work was issued: look soon. */
    void wake() {
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private void loop() {
        while (true) {
            boolean busy = false;
            long now = System.nanoTime();
            for (NcclCommunicator c : watched) {
                try {
                    busy |= c.watch(now);
                } catch (RuntimeException e) {
                    // a communicator closing under us; it is unregistered next
                }
            }
            synchronized (signal) {
                try {
                    signal.wait(busy ? BUSY_POLL_MILLIS : IDLE_POLL_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
