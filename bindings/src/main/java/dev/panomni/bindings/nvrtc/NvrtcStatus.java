package dev.panomni.bindings.nvrtc;

import dev.panomni.bindings.CStrings;

/** Turns {@code nvrtcResult} codes into {@link NvrtcException}s. */
public final class NvrtcStatus {
    private NvrtcStatus() {}

    /** Throws {@link NvrtcException} unless {@code status} is {@code NVRTC_SUCCESS}. */
    public static void check(int status, String call) {
        if (status != nvrtcResult.NVRTC_SUCCESS) {
            throw exception(status, call, null);
        }
    }

    /** The exception for a failed call; {@code log} is the compile log, when there is one. */
    public static NvrtcException exception(int status, String call, String log) {
        String text = null;
        try {
            text = CStrings.read(Nvrtc.nvrtcGetErrorString(status));
        } catch (RuntimeException e) {
            // fall back to the generated table
        }
        if (text == null) {
            text = nvrtcResult.nameOf(status) != null ? nvrtcResult.nameOf(status) : "unknown nvrtcResult";
        }
        return new NvrtcException(call, status, text, log);
    }
}
