package dev.panomni.parallel.comm.nccl;

import dev.panomni.kernels.runtime.CudaEvent;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.Storage;

import java.util.List;
import java.util.function.Consumer;

/**
 * The end of one NCCL call (or one group of sends and receives) on the communication stream: the
 * event recorded after it, when it was issued, and the buffers it uses. The buffers' storages are
 * retained until the event has completed, so a tensor closed before its collective finished is not
 * freed (and its memory reused) under NCCL's feet.
 */
final class NcclCompletion {
    private final String label;
    private final long issuedNanos;
    private final List<Storage> storages;
    private final Consumer<CudaEvent> recycle;
    private CudaEvent event;
    private boolean done;

    /** {@code storages} are already retained; they are released when the completion is observed. */
    NcclCompletion(String label, List<Storage> storages, Consumer<CudaEvent> recycle) {
        this.label = label;
        this.issuedNanos = System.nanoTime();
        this.storages = storages;
        this.recycle = recycle;
    }

    String label() {
        return label;
    }

    long issuedNanos() {
        return issuedNanos;
    }

    /** The event recorded on the communication stream right after the call. */
    synchronized void attach(CudaEvent e) {
        event = e;
    }

    /** Whether the call has finished on the device (never blocks); the first true releases the buffers. */
    synchronized boolean poll() {
        if (done) {
            return true;
        }
        if (event == null || !event.isComplete()) {
            return false;
        }
        done = true;
        for (Storage s : storages) {
            s.release();
        }
        recycle.accept(event);
        event = null;
        return true;
    }

    /** Makes work queued on {@code stream} from now on wait for the call (no host wait). */
    synchronized void orderBefore(CudaStream stream) {
        if (!done && event != null) {
            stream.waitEvent(event);
        }
    }

    /**
     * After the communicator was aborted: the event is destroyed; the buffers stay retained (leaked)
     * on purpose, since the aborted kernels' use of them has no observable end.
     */
    synchronized void discard() {
        if (!done && event != null) {
            event.close();
            event = null;
        }
    }

    @Override
    public String toString() {
        return label;
    }
}
