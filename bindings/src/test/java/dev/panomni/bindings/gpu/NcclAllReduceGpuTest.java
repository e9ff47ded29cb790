package dev.panomni.bindings.gpu;

import dev.panomni.bindings.NativeLibrary;
import dev.panomni.bindings.nccl.Nccl;
import dev.panomni.bindings.nccl.NcclStatus;
import dev.panomni.bindings.nccl.NcclTypes;
import dev.panomni.bindings.nccl.ncclDataType_t;
import dev.panomni.bindings.nccl.ncclRedOp_t;
import dev.panomni.bindings.nccl.ncclResult_t;
import dev.panomni.bindings.nccl.ncclUniqueId;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A one-rank NCCL communicator (initialised from a unique id passed by value, as multi-process jobs do): all-reduce
 * and all-gather inside a group leave the data as it was.
 */
@Tag("gpu")
class NcclAllReduceGpuTest {
    @Test
    void oneRankAllReduceIsTheIdentity() {
        Gpu.assumeGpu();
        Gpu.assumeLibrary(NativeLibrary.NCCL);
        int n = 10_001;
        try (Gpu gpu = Gpu.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment version = arena.allocate(JAVA_INT);
            NcclStatus.check(Nccl.ncclGetVersion(version), "ncclGetVersion");
            assertTrue(version.get(JAVA_INT, 0) >= 2000, "NCCL version code " + version.get(JAVA_INT, 0));

            MemorySegment id = ncclUniqueId.allocate(arena);
            NcclStatus.check(Nccl.ncclGetUniqueId(id), "ncclGetUniqueId");
            MemorySegment pcomm = arena.allocate(NcclTypes.ncclComm_t);
            NcclStatus.check(Nccl.ncclCommInitRank(pcomm, 1, id, 0), "ncclCommInitRank");
            MemorySegment comm = pcomm.get(ADDRESS, 0);
            try {
                MemorySegment count = arena.allocate(JAVA_INT);
                NcclStatus.check(Nccl.ncclCommCount(comm, count), "ncclCommCount", comm);
                assertEquals(1, count.get(JAVA_INT, 0));

                MemorySegment host = arena.allocate(JAVA_FLOAT, n);
                for (int i = 0; i < n; i++) {
                    host.setAtIndex(JAVA_FLOAT, i, i * 0.5f - 3f);
                }
                long send = gpu.alloc(host.byteSize());
                long recv = gpu.alloc(host.byteSize());
                long gathered = gpu.alloc(host.byteSize());
                gpu.upload(send, host);
                NcclStatus.check(Nccl.ncclGroupStart(), "ncclGroupStart");
                NcclStatus.check(Nccl.ncclAllReduce(MemorySegment.ofAddress(send), MemorySegment.ofAddress(recv), n,
                        ncclDataType_t.ncclFloat32, ncclRedOp_t.ncclSum, comm, gpu.stream), "ncclAllReduce", comm);
                NcclStatus.check(Nccl.ncclAllGather(MemorySegment.ofAddress(send), MemorySegment.ofAddress(gathered),
                        n, ncclDataType_t.ncclFloat32, comm, gpu.stream), "ncclAllGather", comm);
                NcclStatus.check(Nccl.ncclGroupEnd(), "ncclGroupEnd");
                gpu.synchronize();
                MemorySegment asyncError = arena.allocate(JAVA_INT);
                NcclStatus.check(Nccl.ncclCommGetAsyncError(comm, asyncError), "ncclCommGetAsyncError", comm);
                assertEquals(ncclResult_t.ncclSuccess, asyncError.get(JAVA_INT, 0));

                for (long buffer : new long[] {recv, gathered}) {
                    MemorySegment back = arena.allocate(JAVA_FLOAT, n);
                    gpu.download(back, buffer);
                    for (int i = 0; i < n; i++) {
                        assertEquals(i * 0.5f - 3f, back.getAtIndex(JAVA_FLOAT, i), "element " + i);
                    }
                }
                for (long p : new long[] {send, recv, gathered}) {
                    gpu.free(p);
                }
                NcclStatus.check(Nccl.ncclCommFinalize(comm), "ncclCommFinalize", comm);
            } finally {
                NcclStatus.check(Nccl.ncclCommDestroy(comm), "ncclCommDestroy");
            }
        }
    }
}
