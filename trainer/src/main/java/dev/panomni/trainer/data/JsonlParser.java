package dev.panomni.trainer.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.trainer.config.DataFormat;

import java.util.ArrayList;
import java.util.List;

/** Turns one JSONL line into a {@link RawDocument}, or says precisely why it cannot. */
final class JsonlParser {
    /** Why a line was rejected. */
    static final class MalformedLine extends Exception {
        MalformedLine(String reason) {
            super(reason, null, false, false);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final DataFormat format;

    JsonlParser(DataFormat format) {
        this.format = format;
    }

    RawDocument parse(DocRef ref, String line) throws MalformedLine {
        if (line == null) {
            throw new MalformedLine("not valid UTF-8");
        }
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new MalformedLine("not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new MalformedLine("expected a JSON object, got " + (root == null ? "nothing" : root.getNodeType()));
        }
        return switch (format) {
            case TEXT -> {
                JsonNode text = root.get("text");
                if (text == null || !text.isTextual()) {
                    throw new MalformedLine(text == null ? "no \"text\" field (data.format is text)"
                            : "\"text\" must be a string, got " + text.getNodeType());
                }
                yield new RawDocument(ref, text.asText(), null);
            }
            case CHAT -> new RawDocument(ref, null, messages(root));
        };
    }

    private static List<ChatMessage> messages(JsonNode root) throws MalformedLine {
        JsonNode messages = root.get("messages");
        if (messages == null || !messages.isArray()) {
            throw new MalformedLine(messages == null ? "no \"messages\" field (data.format is chat)"
                    : "\"messages\" must be a list, got " + messages.getNodeType());
        }
        if (messages.isEmpty()) {
            throw new MalformedLine("\"messages\" is empty");
        }
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            JsonNode role = m.get("role");
            JsonNode content = m.get("content");
            if (!m.isObject() || role == null || !role.isTextual() || content == null || !content.isTextual()) {
                throw new MalformedLine("messages[" + i + "] must be {\"role\": string, \"content\": string}");
            }
            if (!ChatMessage.ROLES.contains(role.asText())) {
                throw new MalformedLine("messages[" + i + "] has role '" + role.asText() + "'; allowed: "
                        + String.join(", ", ChatMessage.ROLES));
            }
            out.add(new ChatMessage(role.asText(), content.asText()));
        }
        return out;
    }
}
