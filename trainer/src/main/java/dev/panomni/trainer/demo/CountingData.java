package dev.panomni.trainer.demo;

import dev.panomni.trainer.checkpoint.Durable;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The demonstration job's dataset, generated on the spot: a "counting language" whose documents
 * are runs of six consecutive five-digit numbers, up or down, such as
 * {@code 41298 41299 41300 41301 41302 41303} or {@code 70010 70009 70008 70007 70006 70005}. The
 * first number is random (the unpredictable part of each document); the rest follow from the
 * first two, so a model that learned to increment and decrement decimal numbers, carries and
 * borrows included, predicts them exactly.
 *
 * <p>Half of the documents are placed across a carry or borrow of the hundreds or thousands digit:
 * drawn uniformly, only one in twenty would show one, too rarely for the tiny model to learn it in
 * the demonstration's 200 steps (measured with uniform documents: every plain held-out prompt
 * right, but only 20 of 30 carry prompts; with the emphasis, most carry prompts right too).
 *
 * <p>One hundred-block in 37 is held out: no training document contains a number {@code n} with
 * {@code (n / 100) % 37 == 5} (11600-11699, 15300-15399, ...), so a prompt from such a block asks
 * for a continuation the model has never seen in any form.
 */
public final class CountingData {
    /** Numbers in documents are at least this. */
    public static final int LOW = 10_000;
    /** Numbers in documents are below this. */
    public static final int RANGE = 100_000;
    /** Share of documents placed across a carry or borrow of the hundreds or thousands digit. */
    static final double CARRY_SHARE = 0.5;
    /** Numbers per document. */
    public static final int LENGTH = 6;
    private static final int HELD_OUT_MODULUS = 37;
    private static final int HELD_OUT_REMAINDER = 5;

    private CountingData() {
    }

    /** Whether {@code n} is reserved for prompts (no training document contains it). */
    public static boolean isHeldOut(int n) {
        return (n / 100) % HELD_OUT_MODULUS == HELD_OUT_REMAINDER;
    }

    /** The text of the document starting at {@code start} going in {@code direction} (+1 or -1). */
    public static String document(int start, int direction) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < LENGTH; k++) {
            if (k > 0) {
                sb.append(' ');
            }
            sb.append(start + direction * k);
        }
        return sb.toString();
    }

    /**
     * {@code lines} JSONL lines {@code {"text": "..."}} from {@code seed}: directions even, starts
     * uniform over the five-digit numbers or (a {@link #CARRY_SHARE} of them) just before a carry
     * or borrow; documents touching a held-out block are left out.
     */
    public static List<String> lines(int lines, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(lines);
        while (out.size() < lines) {
            int direction = r.nextBoolean() ? 1 : -1;
            int start;
            if (r.nextDouble() < CARRY_SHARE) {
                int scale = r.nextBoolean() ? 100 : 1000;
                int boundary = r.nextInt(RANGE) / scale * scale;
                int offset = r.nextInt(LENGTH - 1); // where in the document the carry happens
                start = direction > 0 ? boundary - 1 - offset : boundary + offset;
            } else {
                start = LOW + r.nextInt(RANGE - LOW);
            }
            int end = start + direction * (LENGTH - 1);
            if (Math.min(start, end) < LOW || Math.max(start, end) >= RANGE || isHeldOut(start) || isHeldOut(end)) {
                continue;
            }
            out.add("{\"text\": \"" + document(start, direction) + "\"}");
        }
        return out;
    }

    /**
     * Writes the dataset to {@code file} (atomically, so a reader never sees half of it), unless the
     * file already holds exactly this content.
     *
     * @return the file
     */
    public static Path write(Path file, int lines, long seed) throws IOException {
        byte[] content = (String.join("\n", lines(lines, seed)) + "\n").getBytes(StandardCharsets.UTF_8);
        if (Files.isRegularFile(file) && Files.size(file) == content.length
                && java.util.Arrays.equals(Files.readAllBytes(file), content)) {
            return file;
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Durable.writeAtomically(file, content);
        return file;
    }

    /**
     * The correct continuation of a prompt of the form {@code "a b "} with {@code b = a ± 1}: the
     * remaining numbers of the document, or null when the prompt has another form.
     */
    public static String expectedContinuation(String prompt) {
        String[] parts = prompt.trim().split(" ");
        if (parts.length != 2) {
            return null;
        }
        try {
            int a = Integer.parseInt(parts[0]);
            int b = Integer.parseInt(parts[1]);
            int d = b - a;
            if (d != 1 && d != -1) {
                return null;
            }
            StringBuilder sb = new StringBuilder();
            for (int k = 2; k < LENGTH; k++) {
                if (k > 2) {
                    sb.append(' ');
                }
                sb.append(a + d * k);
            }
            return sb.toString();
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
