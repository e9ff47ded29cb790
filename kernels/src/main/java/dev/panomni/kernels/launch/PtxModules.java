package dev.panomni.kernels.launch;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaModule;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The committed PTX of {@code kernels/cuda/*.cu} (resources under {@code dev/panomni/kernels/ptx/}),
 * loaded into a device on first use. A file {@code NAME.sm90a.ptx}, built for sources that use
 * Hopper-only instructions, is preferred on devices of compute capability 9.x; every other device
 * loads the generic {@code NAME.ptx} (compute_80), which the driver JIT-compiles for it.
 */
final class PtxModules {
    static final String RESOURCE_DIR = "/dev/panomni/kernels/ptx/";

    private PtxModules() {
    }

    /** Module {@code name} (a .cu file's base name) on {@code device}, loaded once per device. */
    static CudaModule module(CudaDevice device, String name) {
        return device.resource(new Key(name), d -> load(d, name));
    }

    /** The resource file chosen for a device of compute capability {@code cc} (major * 10 + minor). */
    static String resourceFor(String name, int cc) {
        if (cc / 10 == 9 && PtxModules.class.getResource(RESOURCE_DIR + name + ".sm90a.ptx") != null) {
            return name + ".sm90a.ptx";
        }
        return name + ".ptx";
    }

    private static CudaModule load(CudaDevice device, String name) {
        String file = resourceFor(name, device.computeCapability());
        try (InputStream in = PtxModules.class.getResourceAsStream(RESOURCE_DIR + file)) {
            if (in == null) {
                throw new IllegalStateException("PTX resource " + RESOURCE_DIR + file + " is missing from the "
                        + "panomni-kernels jar: run kernels/build-ptx.sh kernels/src/main/resources/dev/panomni/kernels/ptx "
                        + "and rebuild");
            }
            return CudaModule.load(device, file, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("reading PTX resource " + file, e);
        }
    }

    private record Key(String module) {
    }
}
