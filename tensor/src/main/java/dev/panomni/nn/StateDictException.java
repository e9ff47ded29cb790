package dev.panomni.nn;

import java.util.List;

/**
 * A state dict that does not fit a module: every missing key, unexpected key and shape or dtype
 * mismatch, listed together so one failed load shows everything wrong with a checkpoint.
 */
public final class StateDictException extends IllegalArgumentException {
    private static final int SHOWN = 20;
    private final List<String> missingKeys;
    private final List<String> unexpectedKeys;
    private final List<String> mismatches;

    /**
     * @param target         what was being loaded (a module or optimizer name)
     * @param missingKeys    keys the target has and the state dict lacks
     * @param unexpectedKeys keys of the state dict the target does not have
     * @param mismatches     one line per key whose shape or dtype does not fit, naming both
     */
    public StateDictException(String target, List<String> missingKeys, List<String> unexpectedKeys,
                              List<String> mismatches) {
        super(message(target, missingKeys, unexpectedKeys, mismatches));
        this.missingKeys = List.copyOf(missingKeys);
        this.unexpectedKeys = List.copyOf(unexpectedKeys);
        this.mismatches = List.copyOf(mismatches);
    }

    public List<String> missingKeys() {
        return missingKeys;
    }

    public List<String> unexpectedKeys() {
        return unexpectedKeys;
    }

    public List<String> mismatches() {
        return mismatches;
    }

    private static String message(String target, List<String> missing, List<String> unexpected,
                                  List<String> mismatches) {
        StringBuilder sb = new StringBuilder("loadStateDict: the state dict does not match ").append(target).append(':');
        section(sb, "missing keys", missing, ", ");
        section(sb, "unexpected keys", unexpected, ", ");
        section(sb, "mismatches", mismatches, "\n    ");
        return sb.toString();
    }

    private static void section(StringBuilder sb, String title, List<String> items, String sep) {
        if (items.isEmpty()) {
            return;
        }
        sb.append("\n  ").append(title).append(" (").append(items.size()).append("):");
        sb.append(sep.startsWith("\n") ? sep : " ");
        for (int i = 0; i < Math.min(SHOWN, items.size()); i++) {
            if (i > 0) {
                sb.append(sep);
            }
            sb.append(items.get(i));
        }
        if (items.size() > SHOWN) {
            sb.append(sep).append("... and ").append(items.size() - SHOWN).append(" more");
        }
    }
}
