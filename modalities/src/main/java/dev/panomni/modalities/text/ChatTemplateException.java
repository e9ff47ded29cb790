package dev.panomni.modalities.text;

/** A chat template that raised ({@code raise_exception}) or could not be rendered. */
public final class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
