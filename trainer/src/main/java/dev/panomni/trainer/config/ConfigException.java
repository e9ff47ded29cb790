package dev.panomni.trainer.config;

import java.util.List;

/** A configuration that cannot run; the message lists every problem found, one per line. */
public final class ConfigException extends IllegalArgumentException {
    private final List<ConfigError> errors;

    public ConfigException(List<ConfigError> errors) {
        super(format(errors));
        this.errors = List.copyOf(errors);
    }

    /** A single problem not tied to a key (an unreadable file, a YAML syntax error). */
    public static ConfigException of(String key, String value, String problem) {
        return new ConfigException(List.of(new ConfigError(key, value, problem)));
    }

    public List<ConfigError> errors() {
        return errors;
    }

    private static String format(List<ConfigError> errors) {
        if (errors.size() == 1) {
            return "invalid configuration: " + errors.get(0);
        }
        StringBuilder sb = new StringBuilder("invalid configuration (" + errors.size() + " problems):");
        for (ConfigError e : errors) {
            sb.append("\n  - ").append(e);
        }
        return sb.toString();
    }
}
