package dev.panomni.parallel.mesh;

import dev.panomni.parallel.comm.InProcessGroup;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceMeshTest {
    @Test
    void invalidShapesNameTheRule() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MeshShape(1, 3, 1, 2));
        assertTrue(e.getMessage().contains("ep (2) must divide dp_shard x sp"), e.getMessage());
        MeshShape s = new MeshShape(1, 2, 4, 2);
        e = assertThrows(IllegalArgumentException.class, () -> s.validate(4, 16, 8, 8, true));
        assertTrue(e.getMessage().contains("must equal the world size 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.validate(8, 14, 2, 8, true));
        assertTrue(e.getMessage().contains("heads (14) must be divisible by sp (4)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.validate(8, 16, 3, 8, true));
        assertTrue(e.getMessage().contains("key/value heads (3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.validate(8, 16, 8, 5, true));
        assertTrue(e.getMessage().contains("experts (5) must be divisible by ep (2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.validate(8, 16, 8, 0, true));
        assertTrue(e.getMessage().contains("needs a mixture-of-experts model"), e.getMessage());
        s.validate(8, 16, 2, 8, true);   // kv heads repeated up to sp
        s.validate(8, 14, 2, 8, false);  // ring attention does not split heads
    }

    @Test
    void groupsOfA3dMeshHaveTheRightMembersAndCommunicate() throws Exception {
        MeshShape shape = new MeshShape(2, 2, 2, 2);   // 8 ranks
        InProcessGroup g = new InProcessGroup(8, 10_000);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<float[]>> fs = new ArrayList<>();
        for (int r = 0; r < 8; r++) {
            var c = g.communicator(r);
            fs.add(pool.submit(() -> {
                try (DeviceMesh mesh = new DeviceMesh(shape, c); Scope s = Scope.open()) {
                    float[] sums = new float[MeshDim.values().length];
                    for (MeshDim d : MeshDim.values()) {
                        Tensor t = Tensor.of(new float[] {c.rank()}, 1);
                        mesh.group(d).allReduce(t, ReduceOp.SUM).await();
                        sums[d.ordinal()] = t.item();
                    }
                    return sums;
                }
            }));
        }
        // Expected sums of member ranks, from the layout rank = (rep*2 + shard)*2 + sp, b = rank % 4,
        // ep = b % 2, ep_fsdp = b / 2.
        float[] r0 = fs.get(0).get();
        assertEquals(0 + 4, r0[MeshDim.DP_REPLICATE.ordinal()]);
        assertEquals(0 + 2, r0[MeshDim.DP_SHARD.ordinal()]);
        assertEquals(0 + 1, r0[MeshDim.SP.ordinal()]);
        assertEquals(0 + 1 + 2 + 3, r0[MeshDim.FSDP.ordinal()]);
        assertEquals(0 + 1, r0[MeshDim.EP.ordinal()]);
        assertEquals(0 + 2, r0[MeshDim.EP_FSDP.ordinal()]);
        assertEquals(28, r0[MeshDim.WORLD.ordinal()]);
        float[] r7 = fs.get(7).get();
        assertEquals(3 + 7, r7[MeshDim.DP_REPLICATE.ordinal()]);
        assertEquals(5 + 7, r7[MeshDim.DP_SHARD.ordinal()]);
        assertEquals(6 + 7, r7[MeshDim.SP.ordinal()]);
        assertEquals(4 + 5 + 6 + 7, r7[MeshDim.FSDP.ordinal()]);
        assertEquals(6 + 7, r7[MeshDim.EP.ordinal()]);
        assertEquals(5 + 7, r7[MeshDim.EP_FSDP.ordinal()]);
        pool.shutdown();
    }
}
