package dev.panomni.parallel.comm;

import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;

import java.util.Arrays;

/**
 * The argument rules of {@link Communicator#allToAll} shared by every backend: one count per rank,
 * no negative counts, counts that fit the buffers' rows, and buffers of one dtype and row size.
 */
public final class AllToAllSplits {
    private AllToAllSplits() {
    }

    /** Elements per dim-0 row (1 for a scalar). */
    public static long rowElements(Tensor t) {
        long n = 1;
        for (int d = 1; d < t.rank(); d++) {
            n *= t.size(d);
        }
        return n;
    }

    /** Dim-0 rows (1 for a scalar). */
    public static long rows(Tensor t) {
        return t.rank() == 0 ? 1 : t.size(0);
    }

    /** Throws an {@link IllegalArgumentException} naming the rule the arguments break. */
    public static void check(Tensor input, long[] sendCounts, Tensor output, long[] recvCounts, int ranks) {
        if (sendCounts.length != ranks || recvCounts.length != ranks) {
            throw new IllegalArgumentException("allToAll: send and receive counts need one entry per rank (" + ranks
                    + "), got " + sendCounts.length + " and " + recvCounts.length);
        }
        if (input.dtype() != output.dtype() || rowElements(output) != rowElements(input)) {
            throw new IllegalArgumentException("allToAll: input " + input.describe() + " and output "
                    + output.describe() + " need the same dtype and row size");
        }
        if (Arrays.stream(sendCounts).anyMatch(c -> c < 0) || Arrays.stream(recvCounts).anyMatch(c -> c < 0)
                || Arrays.stream(sendCounts).sum() > rows(input) || Arrays.stream(recvCounts).sum() > rows(output)) {
            throw new IllegalArgumentException("allToAll: counts " + Arrays.toString(sendCounts) + " / "
                    + Arrays.toString(recvCounts) + " must be >= 0 and fit the rows of input "
                    + Shapes.str(input.shape()) + " and output " + Shapes.str(output.shape()));
        }
    }
}
