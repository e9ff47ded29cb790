package dev.panomni.trainer.data;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Reads a file line by line through a fixed buffer, tracking each line's byte offset so that
 * reading can resume at any line after a restart ({@link #seek}). Never holds more than one line
 * and one buffer in memory. Lines end at {@code \n}; a trailing {@code \r} is dropped; a UTF-8
 * byte-order mark at the start of the file is skipped.
 */
final class LineReader implements Closeable {
    /** A line: its text (null when it is not valid UTF-8), byte offset and 1-based number. */
    record Line(String text, long byteOffset, long number) {
    }

    private static final int BUFFER = 1 << 16;

    private final FileChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private byte[] partial = new byte[256];
    private long position;   // file offset of the next unread line
    private long lineNumber; // number of the last line returned

    LineReader(Path path) throws IOException {
        channel = FileChannel.open(path, StandardOpenOption.READ);
        seek(0, 0);
    }

    /** Byte offset where the next line starts. */
    long position() {
        return position;
    }

    /** Number of lines returned so far (the next line is {@code lineNumber() + 1}). */
    long lineNumber() {
        return lineNumber;
    }

    /** Continues reading at {@code byteOffset}, the start of line {@code linesBefore + 1}. */
    void seek(long byteOffset, long linesBefore) throws IOException {
        channel.position(byteOffset);
        buffer.clear().flip();
        position = byteOffset;
        lineNumber = linesBefore;
        if (byteOffset == 0) {
            skipByteOrderMark();
        }
    }

    private void skipByteOrderMark() throws IOException {
        if (fill() && buffer.remaining() >= 3 && (buffer.get(0) & 0xff) == 0xEF && (buffer.get(1) & 0xff) == 0xBB
                && (buffer.get(2) & 0xff) == 0xBF) {
            buffer.position(3);
            position = 3;
        }
    }

    /** The next line, or null at the end of the file. */
    Line next() throws IOException {
        int length = 0;
        long start = position;
        while (true) {
            if (!buffer.hasRemaining() && !fill()) {
                if (length == 0) {
                    return null;
                }
                break; // last line without a newline
            }
            int from = buffer.position();
            int limit = buffer.limit();
            int nl = -1;
            for (int i = from; i < limit; i++) {
                if (buffer.get(i) == '\n') {
                    nl = i;
                    break;
                }
            }
            int end = nl >= 0 ? nl : limit;
            int n = end - from;
            if (length + n > partial.length) {
                partial = Arrays.copyOf(partial, Math.max(partial.length * 2, length + n));
            }
            buffer.get(partial, length, n);
            length += n;
            position += n;
            if (nl >= 0) {
                buffer.get(); // the newline
                position++;
                break;
            }
        }
        if (length > 0 && partial[length - 1] == '\r') {
            length--;
        }
        lineNumber++;
        String text;
        try {
            CharBuffer chars = decoder.reset().decode(ByteBuffer.wrap(partial, 0, length));
            text = chars.toString();
        } catch (CharacterCodingException e) {
            text = null;
        }
        return new Line(text, start, lineNumber);
    }

    private boolean fill() throws IOException {
        buffer.clear();
        int read = channel.read(buffer);
        buffer.flip();
        return read > 0;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
