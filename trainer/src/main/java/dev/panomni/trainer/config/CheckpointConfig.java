package dev.panomni.trainer.config;

/**
 * {@code checkpoint:} where and how often training state is saved.
 *
 * @param dir      directory holding {@code step-NNNNNN} checkpoints and the {@code latest} pointer
 * @param every    steps between checkpoints (0: only at the end)
 * @param keepLast checkpoints kept; older ones are deleted after a successful save
 * @param resume   {@code auto} (the latest valid checkpoint in {@code dir}, if any), {@code never},
 *                 or the path of a checkpoint directory
 */
public record CheckpointConfig(String dir, int every, int keepLast, String resume) {
    public static final String AUTO = "auto";
    public static final String NEVER = "never";

    public static CheckpointConfig defaults() {
        return new CheckpointConfig("runs/demo/checkpoints", 500, 3, AUTO);
    }
}
