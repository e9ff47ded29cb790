package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ActivationKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** CPU SwiGLU on F32, vectorized (with {@link VectorMath}'s deterministic exp) and split over cores. */
final class CpuActivationKernels implements ActivationKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT;
    private static final long GRAIN = 1 << 14;

    @Override
    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        MemorySegment gs = gate.data();
        MemorySegment us = up.data();
        MemorySegment os = out.data();
        CpuParallel.forRange(out.numel(), GRAIN, (s, e) -> {
            long i = s;
            for (; i <= e - L; i += L) {
                FloatVector g = FloatVector.fromMemorySegment(F, gs, i * 4, LE);
                FloatVector u = FloatVector.fromMemorySegment(F, us, i * 4, LE);
                g.mul(VectorExp.sigmoid(g)).mul(u).intoMemorySegment(os, i * 4, LE);
            }
            for (; i < e; i++) {
                float g = gs.getAtIndex(FL, i);
                os.setAtIndex(FL, i, g * VectorExp.sigmoid(g) * us.getAtIndex(FL, i));
            }
        });
    }

    @Override
    public void swigluBackward(Tensor dout, Tensor gate, Tensor up, Tensor dgate, Tensor dup) {
        MemorySegment ds = dout.data();
        MemorySegment gs = gate.data();
        MemorySegment us = up.data();
        MemorySegment dgs = dgate == null ? null : dgate.data();
        MemorySegment dus = dup == null ? null : dup.data();
        CpuParallel.forRange(dout.numel(), GRAIN, (s, e) -> {
            long i = s;
            for (; i <= e - L; i += L) {
                FloatVector d = FloatVector.fromMemorySegment(F, ds, i * 4, LE);
                FloatVector g = FloatVector.fromMemorySegment(F, gs, i * 4, LE);
                FloatVector sg = VectorExp.sigmoid(g);
                if (dgs != null) {
                    // silu'(g) = VectorExp.sigmoid(g) * (1 + g * (1 - VectorExp.sigmoid(g)))
                    FloatVector u = FloatVector.fromMemorySegment(F, us, i * 4, LE);
                    FloatVector dsilu = sg.mul(g.mul(sg.neg().add(1f)).add(1f));
                    d.mul(u).mul(dsilu).intoMemorySegment(dgs, i * 4, LE);
                }
                if (dus != null) {
                    d.mul(g.mul(sg)).intoMemorySegment(dus, i * 4, LE);
                }
            }
            for (; i < e; i++) {
                float d = ds.getAtIndex(FL, i);
                float g = gs.getAtIndex(FL, i);
                float sg = VectorExp.sigmoid(g);
                if (dgs != null) {
                    dgs.setAtIndex(FL, i, d * us.getAtIndex(FL, i) * (sg * (1f + g * (1f - sg))));
                }
                if (dus != null) {
                    dus.setAtIndex(FL, i, d * (g * sg));
                }
            }
        });
    }

}
