package dev.panomni.parallel.engine;

import dev.panomni.tensor.Shapes;

import java.util.Arrays;

/**
 * How one parameter is split along dim 0 over a shard group. The rows this group covers, the
 * <em>region</em> {@code [regionStart, regionStart + regionRows)} of the global tensor (all rows for
 * a dense parameter, one expert-parallel rank's experts for an expert parameter), are padded with
 * zero rows to {@code groupSize * rowsPerRank}; group member {@code i} holds rows
 * {@code [i * rowsPerRank, (i + 1) * rowsPerRank)} of the padded region. A 0-dim parameter is
 * treated as one row.
 *
 * @param globalShape the parameter's shape on a single device
 * @param regionStart first global row of the region
 * @param regionRows  rows in the region
 * @param groupSize   ranks the region is split over
 * @param groupIndex  this rank's index in that group
 */
public record ShardLayout(long[] globalShape, long regionStart, long regionRows, int groupSize, int groupIndex) {
    public ShardLayout {
        globalShape = globalShape.clone();
        long rows = globalShape.length == 0 ? 1 : globalShape[0];
        if (regionStart < 0 || regionRows < 0 || regionStart + regionRows > rows) {
            throw new IllegalArgumentException("shard region rows [" + regionStart + ", " + (regionStart + regionRows)
                    + ") outside a parameter of shape " + Shapes.str(globalShape));
        }
        if (groupSize < 1 || groupIndex < 0 || groupIndex >= groupSize) {
            throw new IllegalArgumentException("shard group index " + groupIndex + " of " + groupSize);
        }
    }

    /** Rows each group member holds (the last members' rows may be padding). */
    public long rowsPerRank() {
        return (regionRows + groupSize - 1) / groupSize;
    }

    /** Elements per row: the product of dims 1.. (1 for vectors and scalars). */
    public long rowElements() {
        long n = 1;
        for (int i = 1; i < globalShape.length; i++) {
            n *= globalShape[i];
        }
        return n;
    }

    /** Elements of one member's shard, padding included. */
    public long shardElements() {
        return rowsPerRank() * rowElements();
    }

    /** Rows of this member's shard that hold real data (the rest is padding). */
    public long validRows() {
        return Math.max(0, Math.min(rowsPerRank(), regionRows - groupIndex * rowsPerRank()));
    }

    /** The global row of this member's first shard row. */
    public long globalRowStart() {
        return regionStart + groupIndex * rowsPerRank();
    }

    /** Shape of a member's shard: [rowsPerRank, dims 1..]. */
    public long[] shardShape() {
        return withRows(rowsPerRank());
    }

    /** Shape of the gathered region: [regionRows, dims 1..] (the global shape for a dense scalar). */
    public long[] regionShape() {
        return globalShape.length == 0 ? new long[0] : withRows(regionRows);
    }

    private long[] withRows(long rows) {
        long[] s = globalShape.length == 0 ? new long[] {1} : globalShape.clone();
        s[0] = rows;
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShardLayout l && Arrays.equals(globalShape, l.globalShape) && regionStart == l.regionStart
                && regionRows == l.regionRows && groupSize == l.groupSize && groupIndex == l.groupIndex;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(globalShape) * 31 + Long.hashCode(regionStart * 7 + regionRows) + groupSize * 13 + groupIndex;
    }

    @Override
    public String toString() {
        return "ShardLayout[" + Shapes.str(globalShape) + ", region rows " + regionStart + "+" + regionRows + ", member "
                + groupIndex + " of " + groupSize + "]";
    }
}
