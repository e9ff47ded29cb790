package dev.panomni.modalities.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file (or its sharded index) whose content is inconsistent: truncated, header
 * length beyond the file, bad JSON, unknown dtype, offsets out of range or overlapping, shape and
 * byte length that disagree. The message names the file, the tensor when one is at fault, and the
 * problem. Like {@link java.util.zip.ZipException}, a content error is an {@link IOException}.
 */
public final class SafetensorsFormatException extends IOException {
    private final transient Path file;
    private final String tensor;

    /**
     * @param file    the file at fault
     * @param tensor  the tensor at fault, or null when the problem is file-wide
     * @param problem what is wrong, in words
     */
    public SafetensorsFormatException(Path file, String tensor, String problem) {
        super(file + (tensor != null ? ": tensor '" + tensor + "'" : "") + ": " + problem);
        this.file = file;
        this.tensor = tensor;
    }

    public SafetensorsFormatException(Path file, String tensor, String problem, Throwable cause) {
        this(file, tensor, problem);
        initCause(cause);
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }

    /** The tensor at fault, or null for file-wide problems. */
    public String tensor() {
        return tensor;
    }
}
