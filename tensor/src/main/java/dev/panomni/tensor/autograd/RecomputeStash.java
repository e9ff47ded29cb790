package dev.panomni.tensor.autograd;

import dev.panomni.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * What the first run of a recomputed block (activation checkpointing) hands to its recomputation in
 * the backward, in order: results that are costly to produce again and certain to come out the same,
 * such as a collective's output or a routing table built on the host after a device-to-host read.
 * torch's selective activation checkpointing saves collectives' outputs for the same reason.
 *
 * <p>The block's runner opens a stash around the forward ({@link #recording}) and replays it around
 * the recomputation ({@link #replaying}); an op inside asks {@link #current()}: while recording it
 * {@link #put}s its values, while replaying it {@link #take}s them back in the same order instead of
 * computing them. Outside a checkpointed block there is no stash and ops compute as usual. Tensors
 * put here are held (retained) until the stash {@link #close}s, after the recomputation.
 */
public final class RecomputeStash implements AutoCloseable {
    private static final ThreadLocal<RecomputeStash> CURRENT = new ThreadLocal<>();

    private final String block;
    private final ArrayDeque<Object> values = new ArrayDeque<>();
    private final List<Tensor> held = new ArrayList<>();
    private boolean replay;

    /** @param block the checkpointed block's name, for errors */
    public RecomputeStash(String block) {
        this.block = block;
    }

    /** The stash of the block running on this thread, or null outside a checkpointed block. */
    public static RecomputeStash current() {
        return CURRENT.get();
    }

    /** Whether this is the recomputation (values are taken, not put). */
    public boolean replaying() {
        return replay;
    }

    /** Runs the block's first run with this stash collecting values. */
    public <T> T recording(Supplier<T> body) {
        replay = false;
        return with(body);
    }

    /** Runs the block's recomputation with this stash handing back what the first run put. */
    public <T> T replaying(Supplier<T> body) {
        replay = true;
        return with(body);
    }

    private <T> T with(Supplier<T> body) {
        RecomputeStash prev = CURRENT.get();
        CURRENT.set(this);
        try {
            return body.get();
        } finally {
            CURRENT.set(prev);
        }
    }

    /** Saves {@code value} for the recomputation (first run only). */
    public void put(Object value) {
        if (replay) {
            throw new IllegalStateException(block + ": recompute stash put during the recomputation");
        }
        values.addLast(value);
    }

    /** The next value the first run put, which must be a {@code type}. */
    public <T> T take(Class<T> type) {
        if (!replay) {
            throw new IllegalStateException(block + ": recompute stash read during the first run");
        }
        Object v = values.pollFirst();
        if (!type.isInstance(v)) {
            throw new IllegalStateException(block + ": the recomputation asked for a " + type.getSimpleName()
                    + " but the first run saved " + (v == null ? "nothing more" : "a " + v.getClass().getSimpleName())
                    + "; the block must make the same calls in the same order both times");
        }
        return type.cast(v);
    }

    /** A handle on {@code t} that stays valid until the stash closes (the forward's scopes may close first). */
    public Tensor hold(Tensor t) {
        Tensor h = t.unownedAlias();
        held.add(h);
        return h;
    }

    /** Releases the held tensors and forgets the values. */
    @Override
    public void close() {
        held.forEach(Tensor::close);
        held.clear();
        values.clear();
    }
}
