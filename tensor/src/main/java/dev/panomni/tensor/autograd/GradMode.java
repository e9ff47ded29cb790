package dev.panomni.tensor.autograd;

import java.util.function.Supplier;

/** Per-thread switch for recording ops on the autograd tape. */
public final class GradMode {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private GradMode() {
    }

    /** Whether ops on this thread record their backward. */
    public static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** Sets recording on or off for this thread; returns the previous setting. */
    public static boolean set(boolean enabled) {
        boolean[] cell = ENABLED.get();
        boolean prev = cell[0];
        cell[0] = enabled;
        return prev;
    }

    /** Runs {@code body} with recording off. */
    public static <T> T noGrad(Supplier<T> body) {
        boolean prev = set(false);
        try {
            return body.get();
        } finally {
            set(prev);
        }
    }

    /** Runs {@code body} with recording off. */
    public static void noGrad(Runnable body) {
        boolean prev = set(false);
        try {
            body.run();
        } finally {
            set(prev);
        }
    }

    /** Runs {@code body} with recording on. */
    public static <T> T enableGrad(Supplier<T> body) {
        boolean prev = set(true);
        try {
            return body.get();
        } finally {
            set(prev);
        }
    }
}
