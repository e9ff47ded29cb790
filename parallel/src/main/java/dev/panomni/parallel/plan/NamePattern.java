package dev.panomni.parallel.plan;

import java.util.regex.Pattern;

/**
 * A glob over dotted parameter or module names: {@code *} matches one segment,
 * {@code **} any number of segments (including none), anything else matches literally.
 * Example: {@code model.layers.*.mlp.experts.*} matches {@code model.layers.3.mlp.experts.gate_up_proj}.
 */
public record NamePattern(String glob, Pattern regex) {
    public static NamePattern of(String glob) {
        if (glob == null || glob.isBlank()) {
            throw new IllegalArgumentException("empty name pattern");
        }
        StringBuilder re = new StringBuilder();
        String[] parts = glob.split("\\.", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            boolean last = i == parts.length - 1;
            if (p.equals("**")) {
                re.append(last ? "(?:.*)" : "(?:[^.]+\\.)*");
                continue;
            }
            if (p.isEmpty()) {
                throw new IllegalArgumentException("empty segment in name pattern '" + glob + "'");
            }
            re.append(p.equals("*") ? "[^.]+" : Pattern.quote(p));
            if (!last) {
                re.append("\\.");
            }
        }
        return new NamePattern(glob, Pattern.compile(re.toString()));
    }

    public boolean matches(String name) {
        return regex.matcher(name).matches();
    }

    /** The shortest dotted prefix of {@code name} that this pattern matches, or null. */
    public String matchingPrefix(String name) {
        String[] parts = name.split("\\.");
        StringBuilder prefix = new StringBuilder();
        for (String part : parts) {
            if (prefix.length() > 0) {
                prefix.append('.');
            }
            prefix.append(part);
            if (matches(prefix.toString())) {
                return prefix.toString();
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return glob;
    }
}
