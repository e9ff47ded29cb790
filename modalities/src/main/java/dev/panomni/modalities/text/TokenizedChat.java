package dev.panomni.modalities.text;

/**
 * A tokenized conversation with the loss mask of its assistant turns.
 *
 * @param ids       token ids of the rendered conversation
 * @param assistant per token, true when it overlaps an assistant span: the tokens a supervised
 *                  fine-tuning loss is computed on (the others are the prompt)
 */
public record TokenizedChat(int[] ids, boolean[] assistant) {
    /**
     * Tokenizes {@code chat} (without post-processor special tokens: chat templates write their own
     * BOS) and marks the tokens of its assistant spans. A token straddling a span boundary (a run
     * of newlines that starts in the header and ends in the reply) counts as assistant.
     */
    public static TokenizedChat of(Tokenizer tokenizer, RenderedChat chat) {
        Encoding e = tokenizer.encodeWithOffsets(chat.text(), false);
        boolean[] mask = new boolean[e.length()];
        int span = 0;
        var spans = chat.assistantSpans();
        for (int i = 0; i < e.length(); i++) {
            int start = e.starts()[i];
            int end = Math.max(e.ends()[i], start + 1);
            while (span < spans.size() && spans.get(span).end() <= start) {
                span++;
            }
            mask[i] = span < spans.size() && start < spans.get(span).end() && end > spans.get(span).start();
        }
        return new TokenizedChat(e.ids(), mask);
    }

    /** Number of assistant tokens. */
    public int assistantCount() {
        int n = 0;
        for (boolean b : assistant) {
            n += b ? 1 : 0;
        }
        return n;
    }
}
