package dev.panomni.kernels;

import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.tensor.Backend;
import dev.panomni.tensor.Backends;
import dev.panomni.tensor.Device;
import org.junit.jupiter.api.Test;

import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs everywhere: the backend is found, and without a GPU it says so instead of failing. */
class CudaBackendTest {
    @Test
    void serviceLoaderFindsTheCudaBackend() {
        boolean found = false;
        for (Backend b : ServiceLoader.load(Backend.class)) {
            if (b instanceof CudaBackend) {
                found = true;
                assertEquals(Device.Type.CUDA, b.deviceType());
            }
        }
        assertTrue(found, "META-INF/services must register CudaBackend");
    }

    @Test
    void availabilityNeverThrowsAndAgreesWithTheRuntime() {
        CudaBackend b = new CudaBackend();
        boolean available = b.isAvailable();
        assertEquals(CudaRuntime.isAvailable(), available);
        assertEquals(available, Backends.isAvailable(Device.Type.CUDA));
        if (!available) {
            assertFalse(CudaRuntime.unavailableReason().isEmpty());
            System.err.println("NOTE: CUDA not available here: " + CudaRuntime.unavailableReason());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.forDevice(Device.cuda(0)));
            assertTrue(e.getMessage().contains("cannot run here"), e.getMessage());
        } else {
            assertTrue(CudaRuntime.deviceCount() > 0);
        }
    }

    @Test
    void familiesTheBackendLacksNameThemselves() {
        CudaBackend b = new CudaBackend();
        assertNotNull(b.kernels(dev.panomni.tensor.ops.LayoutKernels.class));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> b.kernels(String.class));
        assertTrue(e.getMessage().contains("String"));
    }
}
