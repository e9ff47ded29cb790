package dev.panomni.trainer.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panomni.trainer.data.DataLoaderState;

import java.util.Map;

/**
 * The non-tensor part of a checkpoint, stored as {@code state.json}.
 *
 * @param step           optimizer steps completed
 * @param tokensSeen     training tokens consumed
 * @param elapsedSeconds training wall time so far (for throughput and ETA after a resume)
 * @param scheduler      the learning-rate schedule's state (for a schedule that is a function of
 *                       the step, its description, checked on resume), or null
 * @param rng            named random generators (initialization, dropout) and their positions
 * @param data           the training data loader's position
 * @param extra          anything else the training loop keeps (optimizer scalars, best
 *                       validation loss...), or null
 */
public record TrainingState(long step, long tokensSeen, double elapsedSeconds, JsonNode scheduler,
                            Map<String, RngState> rng, DataLoaderState data, JsonNode extra) {
    public TrainingState {
        rng = rng == null ? Map.of() : Map.copyOf(rng);
    }
}
