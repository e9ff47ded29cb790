package dev.panomni.trainer.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** File-system steps that survive a crash or power loss: fsync of files and directories, atomic replace. */
public final class Durable {
    private Durable() {
    }

    /** Flushes the file's data and metadata to the device. */
    public static void fsyncFile(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /**
     * Flushes a directory's entries (so a rename or a new file in it is on the device). Platforms
     * that cannot open a directory (Windows) make their renames durable themselves; there this is
     * a no-op.
     */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            if (!System.getProperty("os.name", "").toLowerCase().contains("win")) {
                throw e;
            }
        }
    }

    /** Writes {@code content} to {@code target} so that readers see the old or the new file, never a part. */
    public static void writeAtomically(Path target, byte[] content) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Files.write(tmp, content);
        fsyncFile(tmp);
        move(tmp, target);
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    /** Renames atomically (the file system must support it: checkpoints live on one file system). */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + from + " to " + to + " atomically; keep the checkpoint directory "
                    + "on one local or POSIX file system", e);
        }
    }

    /** Deletes a directory tree (files first); missing paths are ignored. */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
