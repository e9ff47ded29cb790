package dev.panomni.trainer.recipe;

/** A model cannot be built as configured (unreadable Hugging Face folder, family mismatch, vocabulary too small). */
public final class RecipeException extends RuntimeException {
    public RecipeException(String message) {
        super(message);
    }

    public RecipeException(String message, Throwable cause) {
        super(message, cause);
    }
}
