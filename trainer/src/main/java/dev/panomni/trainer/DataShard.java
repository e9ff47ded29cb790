package dev.panomni.trainer;

/**
 * Which micro-batches this process trains on when the data is split over data-parallel ranks:
 * micro-batch {@code i} of the global stream goes to rank {@code i % size}. Every rank reads the
 * whole stream (so each knows the global token count that normalizes the loss, with no
 * communication) and keeps its share. The gradient all-reduce that makes ranks agree is the
 * parallel engine's job; a single process is {@link #SINGLE}.
 *
 * @param rank this process's data-parallel rank, in [0, size)
 * @param size the data-parallel degree
 */
public record DataShard(int rank, int size) {
    public static final DataShard SINGLE = new DataShard(0, 1);

    public DataShard {
        if (size < 1 || rank < 0 || rank >= size) {
            throw new IllegalArgumentException("data shard needs 0 <= rank < size, got rank " + rank + " of " + size);
        }
    }

    /** Whether global micro-batch {@code index} is this rank's. */
    public boolean owns(long index) {
        return index % size == rank;
    }
}
