package dev.panomni.tools.bindgen;

import java.util.List;

/** The generator cannot produce correct bindings; the message lists every problem found, not just the first. */
public final class BindgenException extends RuntimeException {
    public BindgenException(String message) {
        super(message);
    }

    static BindgenException of(String heading, List<String> problems) {
        StringBuilder sb = new StringBuilder(heading);
        for (String p : problems) {
            sb.append("\n  - ").append(p);
        }
        return new BindgenException(sb.toString());
    }
}
