package dev.panomni.kernels.runtime;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaStatus;
import dev.panomni.tensor.Device;

import java.lang.foreign.MemorySegment;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The CUDA driver in this process: whether it can run here, and the devices, each set up on first
 * use ({@link CudaDevice}). Nothing touches the driver until {@link #isAvailable()} or
 * {@link #device(int)} is called, so the backend can be loaded on machines without a GPU.
 *
 * <p>Debug switch: with the system property {@code panomni.cuda.sync=true} or the environment
 * variable {@code PANOMNI_CUDA_SYNC=1}, every kernel launch is followed by a stream
 * synchronization, so that a kernel that faults (an illegal address) is reported at the launch
 * that caused it, naming the kernel and the op, instead of at some later call.
 */
public final class CudaRuntime {
    /** The result of probing the driver once. */
    private record Probe(boolean available, String reason, int deviceCount) {
    }

    /** The device whose context {@link CudaDevice#makeCurrent()} last made current on each thread. */
    static final ThreadLocal<CudaDevice> CURRENT = new ThreadLocal<>();

    private static volatile Probe probe;
    private static volatile CudaDevice[] devices;
    private static volatile boolean syncEveryLaunch = readSyncSwitch();

    private CudaRuntime() {
    }

    /** Whether the driver loads, initializes and reports at least one device. Never throws. */
    public static boolean isAvailable() {
        return probe().available();
    }

    /** Why the driver is not usable here (empty when it is). */
    public static String unavailableReason() {
        return probe().reason();
    }

    /** Devices the driver reports (0 without a driver). */
    public static int deviceCount() {
        return probe().deviceCount();
    }

    /**
     * Device {@code ordinal}, initialized on first use (primary context, compute stream, memory pool).
     *
     * @throws IllegalStateException    when there is no usable driver
     * @throws IllegalArgumentException when the ordinal is out of range
     */
    public static CudaDevice device(int ordinal) {
        Probe p = probe();
        if (!p.available()) {
            throw new IllegalStateException("CUDA is not usable here: " + p.reason());
        }
        if (ordinal < 0 || ordinal >= p.deviceCount()) {
            throw new IllegalArgumentException("cuda:" + ordinal + " does not exist: the driver reports "
                    + p.deviceCount() + " device(s), cuda:0 to cuda:" + (p.deviceCount() - 1));
        }
        CudaDevice[] all = devices;
        CudaDevice d = all[ordinal];
        if (d != null) {
            return d;
        }
        synchronized (CudaRuntime.class) {
            d = all[ordinal];
            if (d == null) {
                d = new CudaDevice(ordinal);
                all[ordinal] = d;
            }
            return d;
        }
    }

    /** The device of a tensor {@link Device} of type CUDA. */
    public static CudaDevice device(Device device) {
        if (device.type() != Device.Type.CUDA) {
            throw new IllegalArgumentException("not a CUDA device: " + device);
        }
        return device(device.index());
    }

    /**
     * Tells the runtime that the calling thread's current context was changed by code outside
     * {@link CudaDevice#makeCurrent()} (a direct {@code cuCtxSetCurrent}), so the next call sets it again.
     */
    public static void forgetCurrentContext() {
        CURRENT.remove();
    }

    /** Whether every launch is followed by a synchronization (the debug switch). */
    public static boolean syncEveryLaunch() {
        return syncEveryLaunch;
    }

    /** Turns the debug switch on or off at run time (tests; normally set by property or environment). */
    public static void setSyncEveryLaunch(boolean on) {
        syncEveryLaunch = on;
    }

    private static boolean readSyncSwitch() {
        String prop = System.getProperty("panomni.cuda.sync");
        if (prop != null) {
            return Boolean.parseBoolean(prop.trim());
        }
        String env = System.getenv("PANOMNI_CUDA_SYNC");
        if (env == null) {
            return false;
        }
        String e = env.trim().toLowerCase(Locale.ROOT);
        return e.equals("1") || e.equals("true") || e.equals("yes");
    }

    private static Probe probe() {
        Probe p = probe;
        if (p != null) {
            return p;
        }
        synchronized (CudaRuntime.class) {
            if (probe == null) {
                Probe result = runProbe();
                devices = new CudaDevice[Math.max(0, result.deviceCount())];
                probe = result;
            }
            return probe;
        }
    }

    private static Probe runProbe() {
        try {
            if (!NativeLibrary.CUDA.isAvailable()) {
                return new Probe(false, "no CUDA driver: libcuda.so.1 was not found (install the NVIDIA driver; "
                        + "in a container run with --gpus all)", 0);
            }
            int rc = CudaDriver.cuInit(0);
            if (rc != CUresult.CUDA_SUCCESS) {
                return new Probe(false, "cuInit failed: " + CudaStatus.name(rc) + " (" + CudaStatus.description(rc)
                        + ")", 0);
            }
            MemorySegment out = OutParams.get();
            rc = CudaDriver.cuDeviceGetCount(out);
            if (rc != CUresult.CUDA_SUCCESS) {
                return new Probe(false, "cuDeviceGetCount failed: " + CudaStatus.name(rc), 0);
            }
            int count = out.get(JAVA_INT, 0);
            if (count <= 0) {
                return new Probe(false, "the CUDA driver reports no devices", 0);
            }
            return new Probe(true, "", count);
        } catch (Throwable t) {
            return new Probe(false, "the CUDA driver could not be used: " + t, 0);
        }
    }
}
