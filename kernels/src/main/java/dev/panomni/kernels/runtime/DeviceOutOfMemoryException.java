package dev.panomni.kernels.runtime;

/** A device allocation failed for lack of memory; the message gives the device's and the pool's numbers. */
public final class DeviceOutOfMemoryException extends RuntimeException {
    public DeviceOutOfMemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
