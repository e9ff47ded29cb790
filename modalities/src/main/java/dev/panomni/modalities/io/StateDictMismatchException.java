package dev.panomni.modalities.io;

import java.util.List;

/**
 * A checkpoint whose keys or shapes do not match the model it is loaded into. One exception lists
 * every missing key, unexpected key and shape mismatch, so a wrong config is diagnosed in one run.
 */
public final class StateDictMismatchException extends RuntimeException {
    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> mismatched;

    /**
     * @param source     the checkpoint, for the message
     * @param missing    model keys the checkpoint lacks
     * @param unexpected checkpoint keys the model lacks
     * @param mismatched "key: checkpoint [..] F32 vs model [..]" lines
     */
    public StateDictMismatchException(String source, List<String> missing, List<String> unexpected, List<String> mismatched) {
        super(message(source, missing, unexpected, mismatched));
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.mismatched = List.copyOf(mismatched);
    }

    public List<String> missing() {
        return missing;
    }

    public List<String> unexpected() {
        return unexpected;
    }

    public List<String> mismatched() {
        return mismatched;
    }

    private static String message(String source, List<String> missing, List<String> unexpected, List<String> mismatched) {
        StringBuilder sb = new StringBuilder("checkpoint ").append(source).append(" does not match the model: ")
                .append(missing.size()).append(" missing, ").append(unexpected.size()).append(" unexpected, ")
                .append(mismatched.size()).append(" shape mismatches");
        section(sb, "missing (in the model, not in the checkpoint)", missing);
        section(sb, "unexpected (in the checkpoint, not in the model)", unexpected);
        section(sb, "shape or dtype mismatch", mismatched);
        return sb.toString();
    }

    private static void section(StringBuilder sb, String title, List<String> items) {
        if (items.isEmpty()) {
            return;
        }
        int shown = Math.min(items.size(), 40);
        sb.append("\n  ").append(title).append(":");
        for (int i = 0; i < shown; i++) {
            sb.append("\n    ").append(items.get(i));
        }
        if (items.size() > shown) {
            sb.append("\n    ... and ").append(items.size() - shown).append(" more");
        }
    }
}
