package dev.panomni.trainer.config;

/** What a NaN or infinite loss or gradient does: stop the run, or skip the step's update. */
public enum OnNonFinite {
    STOP,
    SKIP
}
