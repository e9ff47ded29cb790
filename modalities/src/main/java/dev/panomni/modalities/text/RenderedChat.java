package dev.panomni.modalities.text;

import java.util.List;

/**
 * A rendered conversation and where the assistant's turns are in it.
 *
 * @param text           the prompt text
 * @param assistantSpans per assistant turn, the characters the model is trained to produce: its
 *                       content and the end-of-turn token, without the role header
 */
public record RenderedChat(String text, List<Span> assistantSpans) {
    /** Characters {@code [start, end)} of {@link #text()}. */
    public record Span(int start, int end) {
    }

    public RenderedChat {
        assistantSpans = List.copyOf(assistantSpans);
    }

    /** The text of each assistant span. */
    public List<String> assistantTexts() {
        return assistantSpans.stream().map(s -> text.substring(s.start(), s.end())).toList();
    }
}
