package dev.panomni.trainer.data;

/**
 * Where a document's line is: enough to read it again after a restart.
 *
 * @param file       index into the loader's file list
 * @param byteOffset offset of the line's first byte
 * @param line       1-based line number (for messages and the validation split)
 */
public record DocRef(int file, long byteOffset, long line) {
}
