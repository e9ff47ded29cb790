package dev.panomni.trainer.data;

/**
 * One turn of a conversation.
 *
 * @param role    {@code system}, {@code user}, {@code assistant} or {@code tool}
 * @param content the turn's text
 */
public record ChatMessage(String role, String content) {
    /** The roles a chat line may use. */
    public static final java.util.List<String> ROLES = java.util.List.of("system", "user", "assistant", "tool");

    public boolean isAssistant() {
        return "assistant".equals(role);
    }
}
