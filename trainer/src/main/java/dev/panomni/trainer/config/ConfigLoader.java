package dev.panomni.trainer.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link RunConfig}: the defaults, overlaid by the YAML file, overlaid by command-line
 * overrides; then every key and type is checked ({@link ConfigSchema}), the tree is bound to the
 * records with Jackson, presets are resolved and impossible values rejected
 * ({@link ConfigValidator}). Every problem is reported at once in one {@link ConfigException}.
 */
public final class ConfigLoader {
    private ConfigLoader() {
    }

    /**
     * Loads a run config.
     *
     * @param file      the YAML file, or null for the defaults alone
     * @param overrides command-line overrides, applied in order after the file
     * @throws ConfigException listing every problem, each with its dotted key
     */
    public static RunConfig load(Path file, List<ConfigOverride> overrides) {
        if (file == null) {
            return fromYaml(null, "defaults", overrides);
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw ConfigException.of("--config", file.toString(), "no such file");
        } catch (IOException e) {
            throw ConfigException.of("--config", file.toString(), "cannot be read: " + e.getMessage());
        }
        return fromYaml(text, file.toString(), overrides);
    }

    /**
     * Loads a run config from YAML text (null or blank for the defaults alone).
     *
     * @param sourceName the file name shown in syntax errors
     */
    public static RunConfig fromYaml(String yaml, String sourceName, List<ConfigOverride> overrides) {
        ObjectNode tree = ConfigYaml.mapper().valueToTree(RunConfig.defaults());
        if (yaml != null && !yaml.isBlank()) {
            JsonNode user;
            try {
                user = ConfigYaml.mapper().readTree(yaml);
            } catch (JsonProcessingException e) {
                throw ConfigException.of(sourceName, null, "is not valid YAML: " + e.getOriginalMessage()
                        + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr()
                        + ", column " + e.getLocation().getColumnNr() : ""));
            }
            if (user != null && !user.isNull() && !user.isMissingNode()) {
                if (!user.isObject()) {
                    throw ConfigException.of(sourceName, null, "must be a mapping with the sections model, data, "
                            + "train, parallel, checkpoint, logging");
                }
                merge(tree, (ObjectNode) user);
            }
        }
        Map<String, String> origins = new LinkedHashMap<>();
        List<ConfigError> errors = new ArrayList<>();
        for (ConfigOverride o : overrides) {
            applyOverride(tree, o, origins, errors);
        }
        errors.addAll(new ConfigSchema(origins).check(tree));
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        RunConfig bound;
        try {
            bound = ConfigYaml.mapper().treeToValue(tree, RunConfig.class);
        } catch (JsonProcessingException e) {
            throw translate(e);
        }
        RunConfig resolved = resolve(bound, errors);
        errors.addAll(ConfigValidator.validate(resolved));
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        return resolved;
    }

    /** The config as YAML, every key present (the form {@code panomni config --print} shows). */
    public static String toYaml(RunConfig config) {
        try {
            return ConfigYaml.mapper().writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write config as YAML", e);
        }
    }

    /** Fills what the config leaves to defaults that depend on other keys: presets, the data seed. */
    private static RunConfig resolve(RunConfig c, List<ConfigError> errors) {
        ModelConfig m = c.model();
        String size = m.size();
        if (size == null && m.hfPath() == null && m.family() == ModelFamily.TINY && !m.hasDims()) {
            size = "demo";
        }
        if (size != null) {
            ModelDims preset = ModelPresets.find(m.family(), size);
            if (preset == null) {
                List<String> names = ModelPresets.names(m.family());
                String near = DidYouMean.suggest(size, names);
                errors.add(new ConfigError("model.size", "'" + size + "'", "not a preset of family "
                        + m.family().name().toLowerCase() + "; presets: " + String.join(", ", names)
                        + (near != null ? " (did you mean '" + near + "'?)" : "")
                        + "; or leave it null and give model.hf_path or every dimension"));
            } else {
                m = new ModelConfig(m.family(), size, m.hfPath(), m.dtype(), m.vocabSize(), m.hiddenSize(),
                        m.numLayers(), m.numHeads(), m.numKvHeads(), m.headDim(), m.intermediateSize(), m.maxSeqLen(),
                        m.ropeTheta(), m.normEps(), m.tieEmbeddings(), m.numExperts(), m.expertsPerToken(),
                        m.moeIntermediateSize()).withDefaultsFrom(preset);
            }
        } else if (m.hfPath() == null && !m.hasDims()) {
            List<String> missing = new ArrayList<>();
            for (var comp : ModelConfig.class.getRecordComponents()) {
                try {
                    if (comp.getType() != ModelFamily.class && comp.getType() != Precision.class
                            && !comp.getName().equals("size") && !comp.getName().equals("hfPath")
                            && comp.getAccessor().invoke(m) == null) {
                        missing.add("model." + ConfigYaml.keyOf(comp.getName()));
                    }
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
            errors.add(new ConfigError("model", null, "the architecture is not defined: set model.size (presets of "
                    + m.family().name().toLowerCase() + ": " + String.join(", ", ModelPresets.names(m.family()))
                    + "), model.hf_path, or every dimension (missing: " + String.join(", ", missing) + ")"));
        }
        DataConfig d = c.data().seed() == null ? c.data().withSeed(c.train().seed()) : c.data();
        return new RunConfig(m, d, c.train(), c.parallel(), c.checkpoint(), c.logging());
    }

    /** Overlays {@code over} onto {@code base}: mappings merge key by key, anything else replaces. */
    static void merge(ObjectNode base, ObjectNode over) {
        Iterator<Map.Entry<String, JsonNode>> it = over.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode old = base.get(e.getKey());
            JsonNode val = e.getValue();
            if (old != null && old.isObject() && val.isObject()) {
                merge((ObjectNode) old, (ObjectNode) val);
            } else if (old != null && old.isObject() && val.isNull()) {
                continue; // "train:" with nothing under it keeps the section's defaults
            } else {
                base.set(e.getKey(), val);
            }
        }
    }

    private static void applyOverride(ObjectNode root, ConfigOverride o, Map<String, String> origins,
                                      List<ConfigError> errors) {
        JsonNode value;
        try {
            value = o.value().isEmpty() ? ConfigYaml.mapper().getNodeFactory().textNode("")
                    : ConfigYaml.mapper().readTree(o.value());
        } catch (JsonProcessingException e) {
            errors.add(new ConfigError(o.key(), "'" + o.value() + "'", "is not a valid YAML value: "
                    + e.getOriginalMessage() + " (from " + o.argument() + ")"));
            return;
        }
        if (value == null || value.isMissingNode()) {
            value = ConfigYaml.mapper().getNodeFactory().nullNode();
        }
        List<String> segs = o.segments();
        JsonNode node = root;
        StringBuilder path = new StringBuilder();
        for (int i = 0; i < segs.size(); i++) {
            String seg = segs.get(i);
            boolean last = i == segs.size() - 1;
            String here = path.isEmpty() ? seg : node.isArray() ? path + "[" + seg + "]" : path + "." + seg;
            if (node.isArray()) {
                ArrayNode array = (ArrayNode) node;
                int index;
                try {
                    index = Integer.parseInt(seg);
                } catch (NumberFormatException e) {
                    errors.add(new ConfigError(path.toString(), null, "is a list; index it by position, as in "
                            + path + ".0 (from " + o.argument() + ")"));
                    return;
                }
                if (index < 0 || index > array.size() || (index == array.size() && !last)) {
                    errors.add(new ConfigError(here, null, "no such list element: the list has " + array.size()
                            + " (from " + o.argument() + ")"));
                    return;
                }
                if (last) {
                    if (index == array.size()) {
                        array.add(value);
                    } else {
                        array.set(index, value);
                    }
                } else {
                    node = array.get(index);
                }
            } else if (node.isObject()) {
                ObjectNode obj = (ObjectNode) node;
                if (last) {
                    obj.set(seg, value);
                } else {
                    JsonNode child = obj.get(seg);
                    if (child == null || child.isNull()) {
                        child = obj.putObject(seg);
                    }
                    node = child;
                }
            } else {
                errors.add(new ConfigError(path.toString(), null, "is a value, not a section: " + o.key()
                        + " does not exist (from " + o.argument() + ")"));
                return;
            }
            path.setLength(0);
            path.append(here);
        }
        origins.put(path.toString(), o.argument());
    }

    private static ConfigException translate(JsonProcessingException e) {
        StringBuilder key = new StringBuilder();
        if (e instanceof JsonMappingException m) {
            for (JsonMappingException.Reference r : m.getPath()) {
                if (r.getFieldName() != null) {
                    if (!key.isEmpty()) {
                        key.append('.');
                    }
                    key.append(r.getFieldName());
                } else if (r.getIndex() >= 0) {
                    key.append('[').append(r.getIndex()).append(']');
                }
            }
        }
        return ConfigException.of(key.isEmpty() ? "config" : key.toString(), null, e.getOriginalMessage());
    }
}
