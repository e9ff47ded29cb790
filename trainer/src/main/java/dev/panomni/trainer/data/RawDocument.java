package dev.panomni.trainer.data;

import java.util.List;

/**
 * One parsed JSONL line, before tokenization: plain text or a conversation (exactly one is set).
 *
 * @param ref      where the line is
 * @param text     the {@code text} field, or null
 * @param messages the {@code messages} field, or null
 */
public record RawDocument(DocRef ref, String text, List<ChatMessage> messages) {
}
