package dev.panomni.tensor;

import dev.panomni.tensor.cpu.CpuBackend;

import java.util.EnumMap;
import java.util.Map;
import java.util.ServiceLoader;

/** Finds the backend for a device: the CPU backend always, others through {@link ServiceLoader}. */
public final class Backends {
    private static final Map<Device.Type, Backend> BY_TYPE = load();

    private Backends() {
    }

    private static Map<Device.Type, Backend> load() {
        Map<Device.Type, Backend> map = new EnumMap<>(Device.Type.class);
        map.put(Device.Type.CPU, CpuBackend.INSTANCE);
        for (Backend b : ServiceLoader.load(Backend.class)) {
            if (b.deviceType() != Device.Type.CPU) {
                map.putIfAbsent(b.deviceType(), b);
            }
        }
        return map;
    }

    /** The backend that serves {@code device}. */
    public static Backend forDevice(Device device) {
        Backend b = BY_TYPE.get(device.type());
        if (b == null) {
            throw new IllegalStateException("no backend for " + device + ": put panomni-kernels (the CUDA backend) on "
                    + "the class path, or use the cpu device");
        }
        if (!b.isAvailable()) {
            throw new IllegalStateException("the " + device.type() + " backend is present but cannot run here "
                    + "(no driver or device); run `panomni doctor` to see why, or use the cpu device");
        }
        return b;
    }

    /** Whether a usable backend exists for {@code type}. */
    public static boolean isAvailable(Device.Type type) {
        Backend b = BY_TYPE.get(type);
        return b != null && b.isAvailable();
    }
}
