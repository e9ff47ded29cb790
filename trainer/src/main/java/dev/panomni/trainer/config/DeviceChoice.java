package dev.panomni.trainer.config;

/** Where training runs: the CPU backend, CUDA, or CUDA when a GPU is present and the CPU otherwise. */
public enum DeviceChoice {
    CPU,
    CUDA,
    AUTO
}
