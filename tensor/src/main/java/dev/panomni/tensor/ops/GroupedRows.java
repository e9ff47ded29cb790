package dev.panomni.tensor.ops;

import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * Copying rows out to groups and summing groups back, when both directions of the map are known: a
 * mixture-of-experts layer copies each token to its k experts' rows and sums the k results back.
 * {@link Indexing#indexSelect} and {@link Indexing#indexAdd} do the same without the reverse map, so
 * their backward and forward respectively must accumulate by index (a sort, then ordered adds); with
 * the map both ways every direction is a gather, deterministic and sort-free: the sum reads each
 * group's members in list order ({@link GroupedRowsKernels}).
 *
 * <p>The map: {@code owner} [m] names for each of m rows the group (source row) it belongs to, and
 * {@code members} [n, j] lists for each of n groups the rows that belong to it, any unused place
 * holding m (a missing member: e.g. a token's choice of an expert another rank holds). Each row
 * appears in exactly one group's list. Only shapes are checked; the caller builds the pair (a routing
 * sort that knows where each entry went, {@link CountingSort}).
 */
public final class GroupedRows {
    private GroupedRows() {
    }

    /**
     * Row r of the result is row {@code owner[r]} of {@code t}. Backward: each group's gradient is the
     * sum of its members' ({@link #sum}).
     *
     * @param t       [n, ...]
     * @param owner   [m] I64, values in [0, n)
     * @param members [n, j] I64, values in [0, m]
     * @return [m, ...]
     */
    public static Tensor select(Tensor t, Tensor owner, Tensor members) {
        String op = "groupedRows.select";
        check(op, t.size(0), owner, members, t);
        Tensor out = GradMode.noGrad(() -> Indexing.indexSelect(t, 0, owner));
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, t) {
                final Tensor savedMembers = save(members);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {GradMode.noGrad(() -> summed(g[0], savedMembers))};
                }
            }, out);
        }
        return out;
    }

    /**
     * Row i of the result is the sum of the rows of {@code t} that {@code members[i]} lists (zero for
     * a group without members). Backward: each row's gradient is its group's ({@link #select}).
     *
     * @param t       [m, ...]
     * @param members [n, j] I64, values in [0, m]
     * @param owner   [m] I64, values in [0, n)
     * @return [n, ...]
     */
    public static Tensor sum(Tensor t, Tensor members, Tensor owner) {
        String op = "groupedRows.sum";
        check(op, members.size(0), owner, members, t);
        if (owner.size(0) != t.size(0)) {
            throw new TensorOpException(op, "owner " + Shapes.str(owner.shape()) + " must name one group per row of "
                    + Shapes.str(t.shape()));
        }
        Tensor out = GradMode.noGrad(() -> summed(t, members));
        if (Autograd.needsRecord(t)) {
            Autograd.record(new Node(op, t) {
                final Tensor savedOwner = save(owner);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {GradMode.noGrad(() -> Indexing.indexSelect(g[0], 0, savedOwner))};
                }
            }, out);
        }
        return out;
    }

    /** Per group the sum of its members' rows of {@code t}, in list order (one fused kernel, no temporaries). */
    private static Tensor summed(Tensor t, Tensor members) {
        long[] shape = t.shape();
        shape[0] = members.size(0);
        long width = 1;
        for (int d = 1; d < t.rank(); d++) {
            width *= t.size(d);                   // from the shape: t may have no rows
        }
        Tensor rows = t.reshape(t.size(0), width);
        Tensor index = members.contiguous();
        return Precision.compute(t.backend(), t.dtype(), new long[] {shape[0], width},
                (a, o) -> t.backend().kernels(GroupedRowsKernels.class).sum(Views.contiguous(a), index, o), rows)
                .reshape(shape);
    }

    private static void check(String op, long groups, Tensor owner, Tensor members, Tensor t) {
        if (t.rank() < 1) {
            throw new TensorOpException(op, "rows need a tensor of rank >= 1, got " + t.describe());
        }
        OpChecks.sameDevice(op, t, owner);
        OpChecks.sameDevice(op, t, members);
        OpChecks.indexType(op, owner);
        OpChecks.indexType(op, members);
        if (owner.rank() != 1 || members.rank() != 2 || members.size(0) != groups) {
            throw new TensorOpException(op, "expected owner [rows] and members [" + groups + ", j], got owner "
                    + Shapes.str(owner.shape()) + " and members " + Shapes.str(members.shape()));
        }
    }
}
