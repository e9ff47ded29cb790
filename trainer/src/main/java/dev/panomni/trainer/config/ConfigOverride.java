package dev.panomni.trainer.config;

import java.util.ArrayList;
import java.util.List;

/**
 * A command-line override of one config key, {@code --train.micro_batch_size=4}. The value is read
 * as a YAML scalar or flow collection, so {@code 4} is an integer, {@code true} a boolean and
 * {@code [{path: a.jsonl, weight: 2}]} a list.
 *
 * @param key      the dotted key ({@code data.files.0.weight} and {@code data.files[0].weight} are the same)
 * @param value    the value text
 * @param argument the argument as given, for error messages
 */
public record ConfigOverride(String key, String value, String argument) {

    /**
     * Parses override arguments: {@code --a.b=v}, {@code --a.b v} (two arguments) or {@code a.b=v}.
     *
     * @throws ConfigException for an argument that is not of these forms
     */
    public static List<ConfigOverride> parse(List<String> args) {
        List<ConfigOverride> out = new ArrayList<>();
        List<ConfigError> errors = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String body = arg.startsWith("--") ? arg.substring(2) : arg;
            int eq = body.indexOf('=');
            String key;
            String value;
            String shown = arg;
            if (eq >= 0) {
                key = body.substring(0, eq);
                value = body.substring(eq + 1);
            } else if (arg.startsWith("--") && i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
                key = body;
                value = args.get(++i);
                shown = arg + " " + value;
            } else {
                errors.add(new ConfigError(arg, null, "not a config override; write --section.key=value, "
                        + "for example --train.micro_batch_size=4"));
                continue;
            }
            if (!key.contains(".") || key.startsWith(".") || key.endsWith(".")) {
                errors.add(new ConfigError(key.isEmpty() ? arg : key, value, "an override names a key inside a section, "
                        + "as in --train.steps=100 (sections: model, data, train, parallel, checkpoint, logging)"));
                continue;
            }
            out.add(new ConfigOverride(key, value, shown));
        }
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        return out;
    }

    /** The key's segments: names, and list indices as decimal strings. */
    public List<String> segments() {
        List<String> segs = new ArrayList<>();
        for (String part : key.split("\\.")) {
            int b = part.indexOf('[');
            if (b < 0) {
                segs.add(part);
                continue;
            }
            if (b > 0) {
                segs.add(part.substring(0, b));
            }
            for (String idx : part.substring(b).split("[\\[\\]]+")) {
                if (!idx.isEmpty()) {
                    segs.add(idx);
                }
            }
        }
        return segs;
    }
}
