package dev.panomni.trainer.checkpoint;

import dev.panomni.tensor.Tensor;

import java.util.Map;

/**
 * What one save writes.
 *
 * @param model      parameters by dotted name ({@code layers.3.mlp.up.weight})
 * @param optimizer  optimizer tensors by name ({@code exp_avg.layers.3.mlp.up.weight}), may be empty
 * @param state      step, schedule, random generators, data position
 * @param configYaml the run's resolved config, stored for reference and export (may be null)
 */
public record Checkpoint(Map<String, Tensor> model, Map<String, Tensor> optimizer, TrainingState state,
                         String configYaml) {
    public long step() {
        return state.step();
    }
}
