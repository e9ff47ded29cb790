package dev.panomni.trainer.config;

/**
 * A complete training run: the YAML file's six sections. Build one with {@link ConfigLoader}, which
 * applies defaults, command-line overrides and validation.
 */
public record RunConfig(
        ModelConfig model,
        DataConfig data,
        TrainConfig train,
        ParallelConfig parallel,
        CheckpointConfig checkpoint,
        LoggingConfig logging) {

    /** Every section at its defaults: the built-in demonstration job. */
    public static RunConfig defaults() {
        return new RunConfig(ModelConfig.defaults(), DataConfig.defaults(), TrainConfig.defaults(),
                ParallelConfig.defaults(), CheckpointConfig.defaults(), LoggingConfig.defaults());
    }

    /** This config with another data section. */
    public RunConfig withData(DataConfig d) {
        return new RunConfig(model, d, train, parallel, checkpoint, logging);
    }

    /** This config with another checkpoint section. */
    public RunConfig withCheckpoint(CheckpointConfig c) {
        return new RunConfig(model, data, train, parallel, c, logging);
    }
}
