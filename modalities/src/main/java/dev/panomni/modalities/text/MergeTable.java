package dev.panomni.modalities.text;

import java.util.Arrays;

/**
 * BPE merges keyed by the pair of token ids they join: (left, right) to (rank, merged id). An
 * open-addressing table of primitive longs, because a 150k-merge vocabulary in boxed maps costs
 * tens of megabytes and a hash lookup per candidate pair is the inner loop of tokenization.
 */
final class MergeTable {
    private static final long EMPTY = Long.MIN_VALUE;
    private long[] keys;
    private long[] values;
    private int size;

    MergeTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new long[cap];
        Arrays.fill(keys, EMPTY);
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    /** Adds a merge; a pair listed twice keeps its later rank, as Hugging Face's loader does. */
    void put(int left, int right, int rank, int mergedId) {
        if (size * 2 >= keys.length) {
            grow();
        }
        long k = key(left, right);
        int mask = keys.length - 1;
        for (int i = slot(k, mask); ; i = (i + 1) & mask) {
            if (keys[i] == EMPTY) {
                keys[i] = k;
                values[i] = ((long) rank << 32) | (mergedId & 0xFFFFFFFFL);
                size++;
                return;
            }
            if (keys[i] == k) {
                values[i] = ((long) rank << 32) | (mergedId & 0xFFFFFFFFL);
                return;
            }
        }
    }

    /** (rank << 32 | merged id), or -1 when the pair does not merge. */
    long get(int left, int right) {
        long k = key(left, right);
        int mask = keys.length - 1;
        for (int i = slot(k, mask); ; i = (i + 1) & mask) {
            if (keys[i] == EMPTY) {
                return -1;
            }
            if (keys[i] == k) {
                return values[i];
            }
        }
    }

    int size() {
        return size;
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new long[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        size = 0;
        int mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldKeys[j] != EMPTY) {
                for (int i = slot(oldKeys[j], mask); ; i = (i + 1) & mask) {
                    if (keys[i] == EMPTY) {
                        keys[i] = oldKeys[j];
                        values[i] = oldValues[j];
                        size++;
                        break;
                    }
                }
            }
        }
    }
}
