/**
 * Weights in the Hugging Face format: memory-mapped safetensors files and sharded checkpoints
 * ({@link dev.panomni.modalities.io.SafetensorsCheckpoint}), the byte-exact, atomic writer
 * ({@link dev.panomni.modalities.io.SafetensorsWriter}), loading into a model's parameter layout
 * with one report of every missing, unexpected or mis-shaped key
 * ({@link dev.panomni.modalities.io.StateDictLoader}), and the per-expert to stacked mapping of
 * Mixture-of-Experts checkpoints ({@link dev.panomni.modalities.io.ExpertStacking}).
 */
package dev.panomni.modalities.io;
