package dev.panomni.trainer.checkpoint;

import java.util.Map;

/**
 * {@code manifest.json}, written last into a checkpoint: the step and each file's size, so that a
 * checkpoint damaged after it was written (truncated copy, full disk) is recognized as invalid.
 *
 * @param format  always {@value #FORMAT}
 * @param version format version
 * @param step    the checkpoint's step (equals the directory's number)
 * @param files   file name -> size in bytes
 */
public record CheckpointManifest(String format, int version, long step, Map<String, Long> files) {
    public static final String FORMAT = "panomni-checkpoint";
    public static final int VERSION = 1;
}
