package dev.panomni.trainer.data;

import java.nio.charset.StandardCharsets;

/**
 * Decides which documents are held out for validation from a hash of the file's name and the
 * document's line number: stable across runs, seeds, machines and file moves, and independent of
 * shuffling, so no document is ever both trained on and used for validation.
 */
public final class ValidationSplit {
    private ValidationSplit() {
    }

    /** True when line {@code line} (1-based) of the file named {@code fileName} is held out. */
    public static boolean isHeldOut(String fileName, long line, double fraction) {
        if (fraction <= 0) {
            return false;
        }
        long h = 0xcbf29ce484222325L; // FNV-1a over the name, then mixed with the line number
        for (byte b : fileName.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long z = CounterRandom.mix(h ^ CounterRandom.mix(line * 0x9E3779B97F4A7C15L + 0x2545F4914F6CDD1DL));
        return (z >>> 11) * 0x1.0p-53 < fraction;
    }
}
