package dev.panomni.modalities.text;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One message of a conversation, as chat templates see it: {@code {"role": ..., "content": ...}}
 * plus any further fields a template reads ({@code tool_calls}, {@code reasoning_content}, ...).
 *
 * @param role    "system", "user", "assistant" or "tool"
 * @param content the text
 * @param extra   further fields (JSON-like values: strings, numbers, booleans, lists, maps)
 */
public record ChatMessage(String role, String content, Map<String, Object> extra) {
    public ChatMessage {
        extra = Map.copyOf(extra);
    }

    public ChatMessage(String role, String content) {
        this(role, content, Map.of());
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** The message as the template's {@code message} object. */
    Map<String, Object> toTemplateValue() {
        Map<String, Object> m = new LinkedHashMap<>(extra);
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
