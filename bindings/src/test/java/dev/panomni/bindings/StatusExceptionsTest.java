package dev.panomni.bindings;

import dev.panomni.bindings.cublas.CublasException;
import dev.panomni.bindings.cublas.CublasStatus;
import dev.panomni.bindings.cuda.CUresult;
import dev.panomni.bindings.cuda.CudaDriver;
import dev.panomni.bindings.cuda.CudaException;
import dev.panomni.bindings.cuda.CudaStatus;
import dev.panomni.bindings.nccl.NcclException;
import dev.panomni.bindings.nccl.NcclStatus;
import dev.panomni.bindings.nvrtc.NvrtcException;
import dev.panomni.bindings.nvrtc.NvrtcStatus;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Status codes become typed exceptions naming the call and the status. With the library present the text comes from
 * the library; without it from the generated enum tables, so these hold on any machine.
 */
class StatusExceptionsTest {
    @Test
    void cudaStatusNamesTheCallAndTheError() {
        assertDoesNotThrow(() -> CudaStatus.check(CUresult.CUDA_SUCCESS, "cuInit"));
        CudaException e = assertThrows(CudaException.class,
                () -> CudaStatus.check(CUresult.CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc"));
        assertTrue(e.getMessage().startsWith("cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY (2): "), e.getMessage());
        assertEquals(2, e.status());
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.statusName());
        assertEquals("cuMemAlloc", e.call());
    }

    @Test
    void cublasStatusNamesTheCallAndTheError() {
        assertDoesNotThrow(() -> CublasStatus.check(0, "cublasLtCreate"));
        CublasException e = assertThrows(CublasException.class, () -> CublasStatus.check(7, "cublasLtMatmul"));
        assertTrue(e.getMessage().startsWith("cublasLtMatmul failed: CUBLAS_STATUS_INVALID_VALUE (7): "),
                e.getMessage());
    }

    @Test
    void nvrtcStatusCarriesTheLog() {
        NvrtcException e = NvrtcStatus.exception(6, "nvrtcCompileProgram(k.cu)", "k.cu(3): error: expected a ';'");
        assertTrue(e.getMessage().startsWith("nvrtcCompileProgram(k.cu) failed: NVRTC_ERROR_COMPILATION (6)"),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("k.cu(3): error: expected a ';'"), e.getMessage());
        assertEquals("k.cu(3): error: expected a ';'", e.log());
    }

    @Test
    void ncclStatusNamesTheCallAndTheError() {
        NcclException e = assertThrows(NcclException.class, () -> NcclStatus.check(5, "ncclAllReduce"));
        assertTrue(e.getMessage().startsWith("ncclAllReduce failed: ncclInvalidUsage (5): "), e.getMessage());
    }

    @Test
    void callingWithoutTheDriverSaysWhatWasSearched() {
        assumeFalse(NativeLibrary.CUDA.isAvailable(), "this machine has a CUDA driver");
        NativeLibraryNotFoundException e = assertThrows(NativeLibraryNotFoundException.class,
                () -> CudaDriver.cuInit(0));
        assertTrue(e.getMessage().startsWith("CUDA driver library (libcuda.so.1 or libcuda.so) not found"),
                e.getMessage());
        assertTrue(e.getMessage().contains("PANOMNI_CUDA_LIB"), e.getMessage());
    }
}
