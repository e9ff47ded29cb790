package dev.panomni.kernels.launch;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Storage;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Layout;

import java.lang.foreign.MemorySegment;

/**
 * Child-JVM body of {@link KernelLaunchErrorsGpuTest}: fills a transposed view of a storage whose
 * device address is bogus, so fill_strided faults. Prints what the exception named; exit status 0
 * when a {@link KernelLaunchException} came, 1 otherwise.
 */
public final class IllegalAddressProbe {
    private IllegalAddressProbe() {
    }

    public static void main(String[] args) {
        Storage bogus = new Storage(Device.cuda(0), MemorySegment.ofAddress(0x1000), 1 << 20, () -> { });
        Tensor t = Tensor.wrap(bogus, DType.F32, new long[] {256, 256}, new long[] {1, 256}, 0);
        try {
            Layout.fill(t, 1.0);
            dev.panomni.tensor.Backends.forDevice(Device.cuda(0)).synchronize(Device.cuda(0));
            System.out.println("no exception");
            System.exit(1);
        } catch (KernelLaunchException e) {
            System.out.println("KERNEL=" + e.kernel() + " OP=" + e.op());
            System.out.println(e.getMessage());
            System.exit(0);
        } catch (RuntimeException e) {
            System.out.println("unexpected: " + e);
            System.exit(1);
        }
    }
}
