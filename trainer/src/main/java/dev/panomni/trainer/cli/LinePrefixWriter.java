package dev.panomni.trainer.cli;

import java.io.PrintStream;
import java.io.Writer;

/** Writes complete lines to a stream, each prefixed (the {@code [rank N] } of threads-mode output). */
final class LinePrefixWriter extends Writer {
    private final PrintStream to;
    private final String prefix;
    private final StringBuilder line = new StringBuilder();

    LinePrefixWriter(PrintStream to, String prefix) {
        this.to = to;
        this.prefix = prefix;
    }

    @Override
    public synchronized void write(char[] buf, int off, int len) {
        for (int i = off; i < off + len; i++) {
            char c = buf[i];
            if (c == '\n') {
                emit();
            } else if (c != '\r') {
                line.append(c);
            }
        }
    }

    private void emit() {
        to.println(prefix + line);
        line.setLength(0);
    }

    @Override
    public synchronized void flush() {
        to.flush();
    }

    @Override
    public synchronized void close() {
        if (!line.isEmpty()) {
            emit();
        }
        to.flush();
    }
}
