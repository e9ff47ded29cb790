package dev.panomni.modalities.text;

import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of a Hugging Face tokenizer: a vocabulary and ranked merges. A word (one
 * pre-tokenized piece, already byte-level mapped where the tokenizer is byte-level) starts as one
 * symbol per character; the lowest-ranked mergeable adjacent pair is merged first, ties going to
 * the leftmost, until no pair merges. This is the order of the {@code tokenizers} library's
 * priority queue, which can differ from "merge every occurrence of the best pair" when a merge's
 * product merges at a lower rank than a remaining occurrence.
 */
final class BpeModel {
    /** Tokens of one word: ids and how many characters of the word each covers. */
    record Word(int[] ids, int[] lengths) {
    }

    private static final int CACHE_CAPACITY = 10_000;

    private final Map<String, Integer> vocab;
    private final MergeTable merges;
    private final boolean ignoreMerges;
    private final Integer unkId;
    private final boolean fuseUnk;
    private final String continuingSubwordPrefix;
    private final String endOfWordSuffix;
    private final ConcurrentHashMap<String, Word> cache = new ConcurrentHashMap<>();

    BpeModel(Map<String, Integer> vocab, MergeTable merges, boolean ignoreMerges, Integer unkId, boolean fuseUnk,
             String continuingSubwordPrefix, String endOfWordSuffix) {
        this.vocab = vocab;
        this.merges = merges;
        this.ignoreMerges = ignoreMerges;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.continuingSubwordPrefix = continuingSubwordPrefix == null ? "" : continuingSubwordPrefix;
        this.endOfWordSuffix = endOfWordSuffix == null ? "" : endOfWordSuffix;
    }

    Map<String, Integer> vocab() {
        return vocab;
    }

    /** The tokens of {@code word} (non-empty). */
    Word tokenize(String word) {
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) {
                return new Word(new int[] {id}, new int[] {word.codePointCount(0, word.length())});
            }
        }
        Word hit = cache.get(word);
        if (hit != null) {
            return hit;
        }
        Word w = merge(word);
        if (cache.size() < CACHE_CAPACITY) {
            cache.put(word, w);
        }
        return w;
    }

    private Word merge(String word) {
        int n = word.codePointCount(0, word.length());
        int[] ids = new int[n];
        int[] lens = new int[n];
        int count = 0;
        int pendingUnkLen = 0;
        boolean pendingUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int next = i + Character.charCount(cp);
            String s = word.substring(i, next);
            if (i > 0) {
                s = continuingSubwordPrefix + s;
            }
            if (next == word.length()) {
                s = s + endOfWordSuffix;
            }
            Integer id = vocab.get(s);
            if (id != null) {
                if (pendingUnk) {
                    ids[count] = unkId;
                    lens[count++] = pendingUnkLen;
                    pendingUnk = false;
                }
                ids[count] = id;
                lens[count++] = 1;
            } else if (unkId != null) {
                if (pendingUnk && fuseUnk) {
                    pendingUnkLen++;
                } else {
                    if (pendingUnk) {
                        ids[count] = unkId;
                        lens[count++] = pendingUnkLen;
                    }
                    pendingUnk = true;
                    pendingUnkLen = 1;
                }
            }
            // else: no unknown token configured; the character is dropped, as the reference does.
            i = next;
        }
        if (pendingUnk) {
            ids[count] = unkId;
            lens[count++] = pendingUnkLen;
        }
        return mergeAll(ids, lens, count);
    }

    /** Hugging Face's {@code Word::merge_all}: a min-heap of (rank, position) with lazy invalidation. */
    private Word mergeAll(int[] ids, int[] lens, int count) {
        int[] prev = new int[count];
        int[] next = new int[count];
        for (int i = 0; i < count; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }
        // Entries: rank << 32 | pos, so the natural order is rank first, then position.
        PriorityQueue<long[]> queue = new PriorityQueue<>(Math.max(1, count), (a, b) -> Long.compare(a[0], b[0]));
        for (int i = 0; i + 1 < count; i++) {
            long m = merges.get(ids[i], ids[i + 1]);
            if (m >= 0) {
                queue.add(new long[] {(m & 0xFFFFFFFF00000000L) | i, m & 0xFFFFFFFFL});
            }
        }
        while (!queue.isEmpty()) {
            long[] top = queue.poll();
            int pos = (int) (top[0] & 0xFFFFFFFFL);
            int newId = (int) top[1];
            if (lens[pos] == 0 || next[pos] == -1) {
                continue;
            }
            int right = next[pos];
            long current = merges.get(ids[pos], ids[right]);
            if (current < 0 || (int) (current & 0xFFFFFFFFL) != newId) {
                continue; // stale entry: one side already merged into something else
            }
            ids[pos] = newId;
            lens[pos] += lens[right];
            lens[right] = 0;
            next[pos] = next[right];
            if (next[right] != -1) {
                prev[next[right]] = pos;
            }
            if (prev[pos] >= 0) {
                int p = prev[pos];
                long m = merges.get(ids[p], ids[pos]);
                if (m >= 0) {
                    queue.add(new long[] {(m & 0xFFFFFFFF00000000L) | p, m & 0xFFFFFFFFL});
                }
            }
            if (next[pos] != -1) {
                long m = merges.get(ids[pos], ids[next[pos]]);
                if (m >= 0) {
                    queue.add(new long[] {(m & 0xFFFFFFFF00000000L) | pos, m & 0xFFFFFFFFL});
                }
            }
        }
        int kept = 0;
        for (int i = 0; i < count; i++) {
            if (lens[i] != 0) {
                kept++;
            }
        }
        int[] outIds = new int[kept];
        int[] outLens = new int[kept];
        for (int i = 0, j = 0; i < count; i++) {
            if (lens[i] != 0) {
                outIds[j] = ids[i];
                outLens[j++] = lens[i];
            }
        }
        return new Word(outIds, outLens);
    }
}
