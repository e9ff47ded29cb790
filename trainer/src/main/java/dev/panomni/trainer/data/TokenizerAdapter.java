package dev.panomni.trainer.data;

import java.util.List;

/**
 * What the data pipeline needs of a tokenizer. {@link ByteTokenizer} implements it for tests and
 * the demonstration job; {@link HfTokenizerAdapter} adapts a Hugging Face tokenizer (tokenizer.json
 * plus the model's chat template) for real models.
 */
public interface TokenizerAdapter {
    /** Number of token ids (the model's embedding rows must be at least this many). */
    int vocabSize();

    /** Token ids of {@code text}, without special tokens. */
    int[] encode(String text);

    /** The text of {@code ids}; special tokens are rendered by name. */
    String decode(int[] ids);

    /**
     * A conversation rendered through the chat template, with a loss mask that is true only on
     * the assistant's reply tokens (and the end-of-turn token closing each reply).
     */
    ChatEncoding applyChatTemplate(List<ChatMessage> messages);

    /** The end-of-document token appended to plain-text documents. */
    int eosId();

    /** The id padding positions hold (never a training target). */
    int padId();

    /**
     * A plain-text training document: {@code encode(text)} followed by {@link #eosId()}.
     * Tokenizers whose models expect a beginning-of-sequence token prepend it here.
     */
    default int[] encodeDocument(String text) {
        int[] body = encode(text);
        int[] ids = java.util.Arrays.copyOf(body, body.length + 1);
        ids[body.length] = eosId();
        return ids;
    }

    /**
     * The ids of a generation prompt: what {@link #encodeDocument} puts before the text (a BOS token
     * where the model has one), then the text, and no end-of-sequence token.
     */
    default int[] encodePrompt(String text) {
        return encode(text);
    }

    /**
     * The ids of a conversation rendered for generation: the chat template applied to
     * {@code messages}, followed by the header that opens the assistant's turn.
     */
    int[] encodeChatPrompt(List<ChatMessage> messages);

    /** The token that ends an assistant turn (where chat generation stops). */
    default int endOfTurnId() {
        return eosId();
    }
}
