package dev.panomni.trainer.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident memory of this process (Linux {@code /proc/self/status}, VmRSS): on the CPU backend the
 * tensors live there, so it stands in for "device memory" in the progress line.
 */
public final class HostMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private HostMemory() {
    }

    /** Bytes resident, or null where the platform does not report it. */
    public static Long residentBytes() {
        if (!Files.isReadable(STATUS)) {
            return null;
        }
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024L; // reported in kB
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
