package dev.panomni.trainer.metrics;

import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.tensor.Device;

/**
 * What the progress line reports about the device a run trains on: its name (for the peak FLOP/s
 * behind MFU) and the memory in use. On the CPU that is this process's resident memory; on CUDA,
 * the device memory pool's bytes in use.
 */
public final class DeviceInfo {
    private DeviceInfo() {
    }

    /** The device's name as the driver reports it ("NVIDIA H100 80GB HBM3"), or null for the CPU or when unknown. */
    public static String name(Device device) {
        if (device.type() != Device.Type.CUDA) {
            return null;
        }
        try {
            return CudaRuntime.device(device).name();
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** Bytes in use on {@code device} now, or null where unknown. */
    public static Long memoryInUse(Device device) {
        if (device.type() != Device.Type.CUDA) {
            return HostMemory.residentBytes();
        }
        try {
            return CudaRuntime.device(device).poolUsedBytes();
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }
}
