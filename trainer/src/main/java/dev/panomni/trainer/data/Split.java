package dev.panomni.trainer.data;

/** Which documents a loader serves: the training split, or the held-out validation split. */
public enum Split {
    TRAIN,
    VALIDATION
}
