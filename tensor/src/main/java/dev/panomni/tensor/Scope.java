package dev.panomni.tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Owns tensors and releases them, deterministically, when it closes. Scopes nest per thread: every
 * tensor an op creates belongs to the innermost open scope of the calling thread (or to the thread's
 * root scope when none is open, which lives until closed explicitly).
 *
 * <pre>{@code
 * try (Scope step = Scope.open("step")) {
 *     Tensor loss = model.loss(batch);   // activations belong to `step`
 *     loss.backward();                   // parameter gradients belong to the parameters' scope
 *     optimizer.step();
 * }                                      // activations freed here
 * }</pre>
 *
 * <p>A tensor that must outlive the scope is handed to the enclosing one with {@link #keep}. Closing
 * a scope releases its tensor handles; the memory itself is freed when no handle or autograd record
 * refers to it any more, so activations saved for backward survive a closed forward scope and are
 * freed as soon as backward has used them.
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();
    private static final ThreadLocal<Scope> ROOT = ThreadLocal.withInitial(() -> new Scope("root", null, null));

    private final String name;
    private final Scope parent;
    private final Thread thread;
    private final Set<Tensor> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean closed;

    private Scope(String name, Scope parent, Thread thread) {
        this.name = name;
        this.parent = parent;
        this.thread = thread;
    }

    /** Opens a scope nested in the current one on this thread. */
    public static Scope open() {
        return open("scope");
    }

    /** Opens a named scope (the name appears in released-tensor errors). */
    public static Scope open(String name) {
        Scope s = new Scope(name, current(), Thread.currentThread());
        CURRENT.set(s);
        return s;
    }

    /**
     * A scope that is not on the thread's stack: tensors are added to it only explicitly
     * ({@link Tensor#moveTo}), and it lives until closed. Models keep their parameters in one.
     */
    public static Scope detached(String name) {
        return new Scope(name, null, null);
    }

    /** The innermost open scope of this thread, or the thread's root scope. */
    public static Scope current() {
        Scope s = CURRENT.get();
        return s != null ? s : ROOT.get();
    }

    public String name() {
        return name;
    }

    public boolean isClosed() {
        return closed;
    }

    synchronized void adopt(Tensor t) {
        if (closed) {
            throw new IllegalStateException("scope '" + name + "' is closed: it cannot own new tensors");
        }
        owned.add(t);
    }

    synchronized void disown(Tensor t) {
        owned.remove(t);
    }

    /** Number of live tensors this scope owns. */
    public synchronized int size() {
        return owned.size();
    }

    /**
     * Hands {@code t} to the enclosing scope, so it survives this one's close.
     *
     * @return {@code t}, for chaining
     */
    public Tensor keep(Tensor t) {
        Scope target = parent != null ? parent : ROOT.get();
        t.moveTo(target);
        return t;
    }

    /** Releases every tensor this scope still owns and pops it from the thread's scope stack. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (thread != null && CURRENT.get() != this) {
            if (Thread.currentThread() != thread) {
                throw new IllegalStateException("scope '" + name + "' must be closed on the thread that opened it");
            }
            throw new IllegalStateException("scope '" + name + "' closed out of order: close inner scopes first");
        }
        List<Tensor> toRelease;
        synchronized (this) {
            closed = true;
            toRelease = new ArrayList<>(owned);
            owned.clear();
        }
        for (Tensor t : toRelease) {
            t.releaseFromScope(this);
        }
        if (thread != null) {
            CURRENT.set(parent);
        }
    }

    @Override
    public String toString() {
        return "Scope[" + name + (closed ? ", closed" : ", " + size() + " tensors") + "]";
    }
}
