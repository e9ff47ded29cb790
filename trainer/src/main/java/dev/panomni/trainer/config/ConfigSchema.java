package dev.panomni.trainer.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checks a config tree against the record types before binding, so that every unknown key and
 * every wrongly typed value is reported at once, by dotted key, instead of Jackson's first failure.
 * It also normalizes values the binder should accept: enum names to lower case, numbers given for
 * text keys to text, whole floating values ({@code 1e4}) for integer keys to integers.
 */
final class ConfigSchema {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Map<String, String> origins;
    private final List<ConfigError> errors = new ArrayList<>();
    /** Leaf key -> the sections that have it, for "did you mean train.seq_len" across sections. */
    private final Map<String, List<String>> keyHomes = new LinkedHashMap<>();

    /** @param origins dotted key -> the command-line argument that set it (for messages) */
    ConfigSchema(Map<String, String> origins) {
        this.origins = origins;
        indexKeys(RunConfig.class, "");
    }

    /** Checks {@code root} (a RunConfig tree) in place; returns the problems found. */
    List<ConfigError> check(ObjectNode root) {
        checkRecord(root, RunConfig.class, "");
        return errors;
    }

    private void indexKeys(Class<?> type, String prefix) {
        for (RecordComponent c : type.getRecordComponents()) {
            String key = ConfigYaml.keyOf(c.getName());
            String path = prefix.isEmpty() ? key : prefix + "." + key;
            if (c.getType().isRecord()) {
                indexKeys(c.getType(), path);
            } else {
                keyHomes.computeIfAbsent(key, k -> new ArrayList<>()).add(path);
            }
        }
    }

    private void checkRecord(ObjectNode node, Class<?> type, String path) {
        Map<String, RecordComponent> known = new LinkedHashMap<>();
        for (RecordComponent c : type.getRecordComponents()) {
            known.put(ConfigYaml.keyOf(c.getName()), c);
        }
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        for (String name : names) {
            String childPath = path.isEmpty() ? name : path + "." + name;
            RecordComponent c = known.get(name);
            if (c == null) {
                unknownKey(name, childPath, path, known.keySet());
                continue;
            }
            JsonNode fixed = checkValue(node.get(name), c.getGenericType(), childPath);
            if (fixed != null) {
                node.set(name, fixed);
            }
        }
    }

    private void unknownKey(String name, String childPath, String sectionPath, java.util.Set<String> known) {
        String where = sectionPath.isEmpty() ? "the top level" : "'" + sectionPath + "'";
        String hint;
        String near = DidYouMean.suggest(name, known);
        if (near != null) {
            hint = "did you mean '" + (sectionPath.isEmpty() ? near : sectionPath + "." + near) + "'? ";
        } else if (keyHomes.containsKey(name)) {
            hint = "did you mean '" + String.join("' or '", keyHomes.get(name)) + "'? ";
        } else {
            hint = "";
        }
        error(childPath, null, "unknown key; " + hint + "known keys of " + where + ": " + String.join(", ", known));
    }

    /** Returns a replacement node when normalization changed the value, else null. */
    private JsonNode checkValue(JsonNode v, Type type, String path) {
        Class<?> raw = rawClass(type);
        if (v == null || v.isNull()) {
            if (raw.isPrimitive() || raw.isEnum() || raw.isRecord() || List.class.isAssignableFrom(raw)) {
                if (raw.isRecord()) {
                    return NODES.objectNode(); // an empty section ("train:") means its defaults
                }
                error(path, "null", "a value is required: " + describe(type));
            }
            return null;
        }
        if (raw.isRecord()) {
            if (!v.isObject()) {
                error(path, show(v), "expected a section (a mapping of keys to values)");
                return null;
            }
            checkRecord((ObjectNode) v, raw, path);
            return null;
        }
        if (List.class.isAssignableFrom(raw)) {
            if (!v.isArray()) {
                error(path, show(v), "expected " + describe(type));
                return null;
            }
            Type element = ((ParameterizedType) type).getActualTypeArguments()[0];
            ArrayNode array = (ArrayNode) v;
            for (int i = 0; i < array.size(); i++) {
                JsonNode fixed = checkValue(array.get(i), element, path + "[" + i + "]");
                if (fixed != null) {
                    array.set(i, fixed);
                }
            }
            return null;
        }
        if (raw == int.class || raw == Integer.class || raw == long.class || raw == Long.class) {
            boolean isInt = raw == int.class || raw == Integer.class;
            if (v.isIntegralNumber() && (isInt ? v.canConvertToInt() : v.canConvertToLong())) {
                return null;
            }
            if (v.isFloatingPointNumber() && v.doubleValue() == Math.rint(v.doubleValue())
                    && Math.abs(v.doubleValue()) <= (isInt ? Integer.MAX_VALUE : 9.0e15)) {
                return NODES.numberNode((long) v.doubleValue());
            }
            error(path, show(v), v.isIntegralNumber() ? "out of range for " + describe(type)
                    : "expected " + describe(type));
            return null;
        }
        if (raw == double.class || raw == Double.class) {
            if (!v.isNumber()) {
                error(path, show(v), "expected a number");
            }
            return null;
        }
        if (raw == boolean.class || raw == Boolean.class) {
            if (!v.isBoolean()) {
                error(path, show(v), "expected true or false");
            }
            return null;
        }
        if (raw == String.class) {
            if (v.isTextual()) {
                return null;
            }
            if (v.isValueNode()) {
                return NODES.textNode(v.asText());
            }
            error(path, show(v), "expected text");
            return null;
        }
        if (raw.isEnum()) {
            List<String> allowed = enumNames(raw);
            String text = v.isValueNode() ? v.asText().toLowerCase(Locale.ROOT) : null;
            if (text != null && allowed.contains(text)) {
                return NODES.textNode(text);
            }
            String near = text == null ? null : DidYouMean.suggest(text, allowed);
            error(path, show(v), "expected one of " + String.join(", ", allowed)
                    + (near != null ? " (did you mean '" + near + "'?)" : ""));
            return null;
        }
        throw new IllegalStateException("config schema has no rule for " + type + " at " + path);
    }

    private void error(String path, String value, String problem) {
        String origin = originOf(path);
        errors.add(new ConfigError(path, value, origin == null ? problem : problem + " (from " + origin + ")"));
    }

    private String originOf(String path) {
        for (String p = path; !p.isEmpty(); p = parent(p)) {
            String o = origins.get(p);
            if (o != null) {
                return o;
            }
        }
        return null;
    }

    private static String parent(String path) {
        int dot = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
        return dot < 0 ? "" : path.substring(0, dot);
    }

    static List<String> enumNames(Class<?> enumType) {
        return Arrays.stream(enumType.getEnumConstants())
                .map(e -> ((Enum<?>) e).name().toLowerCase(Locale.ROOT)).toList();
    }

    static String show(JsonNode v) {
        if (v.isTextual()) {
            return "'" + v.asText() + "'";
        }
        if (v.isContainerNode()) {
            String s = v.toString();
            return s.length() > 60 ? s.substring(0, 57) + "..." : s;
        }
        return v.asText();
    }

    private static String describe(Type type) {
        Class<?> raw = rawClass(type);
        if (raw == int.class || raw == Integer.class) {
            return "an integer";
        }
        if (raw == long.class || raw == Long.class) {
            return "an integer";
        }
        if (raw == double.class || raw == Double.class) {
            return "a number";
        }
        if (raw == boolean.class || raw == Boolean.class) {
            return "true or false";
        }
        if (raw.isEnum()) {
            return "one of " + String.join(", ", enumNames(raw));
        }
        if (List.class.isAssignableFrom(raw)) {
            return "a list of " + describe(((ParameterizedType) type).getActualTypeArguments()[0]).replaceFirst("^an? ", "")
                    + "s";
        }
        if (raw.isRecord()) {
            return "a section";
        }
        return "text";
    }

    private static Class<?> rawClass(Type type) {
        if (type instanceof Class<?> c) {
            return c;
        }
        if (type instanceof ParameterizedType p) {
            return (Class<?>) p.getRawType();
        }
        throw new IllegalStateException("unsupported config type " + type);
    }
}
