package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.OptimizerKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * CPU AdamW and SGD updates, vectorized over F32 and BF16 elements (F16 runs scalar). The vector
 * body and the scalar tail do the same float operations in the same order (fma where the vector
 * code fuses), so an element's result does not depend on where chunk boundaries fall.
 */
final class CpuOptimizerKernels implements OptimizerKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final long GRAIN = 1 << 14;

    @Override
    public void adamwStep(Tensor[] params, Tensor[] grads, Tensor[] expAvg, Tensor[] expAvgSq, Tensor[] masters,
                          AdamWHyper[] hyper) {
        for (int i = 0; i < params.length; i++) {
            adamw(params[i], grads[i], expAvg[i], expAvgSq[i], masters[i], hyper[i]);
        }
    }

    private static void adamw(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor master, AdamWHyper h) {
        MemorySegment ps = param.data();
        MemorySegment gs = grad.data();
        MemorySegment ms = expAvg.data();
        MemorySegment vs = expAvgSq.data();
        MemorySegment xs = master != null ? master.data() : null;
        DType pt = param.dtype();
        DType gt = grad.dtype();
        float b1 = (float) h.beta1();
        float b2 = (float) h.beta2();
        float omb1 = (float) (1 - h.beta1());
        float omb2 = (float) (1 - h.beta2());
        float eps = (float) h.eps();
        float decay = (float) (1 - h.lr() * h.weightDecay());
        double bc1 = 1 - Math.pow(h.beta1(), h.step());
        double bc2 = 1 - Math.pow(h.beta2(), h.step());
        float stepSize = (float) (h.lr() / bc1);
        float invBc2Sqrt = (float) (1 / Math.sqrt(bc2));
        boolean vector = BFloat16Lanes.vectorizable(pt) && BFloat16Lanes.vectorizable(gt);
        CpuParallel.forRange(param.numel(), GRAIN, (s, e) -> {
            long k = s;
            if (vector) {
                FloatVector vOmb1 = FloatVector.broadcast(F, omb1);
                FloatVector vOmb2 = FloatVector.broadcast(F, omb2);
                FloatVector vInv = FloatVector.broadcast(F, invBc2Sqrt);
                FloatVector vEps = FloatVector.broadcast(F, eps);
                FloatVector vStep = FloatVector.broadcast(F, -stepSize);
                long bound = s + (e - s) / F.length() * F.length();
                for (; k < bound; k += F.length()) {
                    FloatVector g = BFloat16Lanes.load(gs, gt, k);
                    FloatVector p = xs != null ? BFloat16Lanes.load(xs, DType.F32, k) : BFloat16Lanes.load(ps, pt, k);
                    FloatVector m = BFloat16Lanes.load(ms, DType.F32, k);
                    FloatVector v = BFloat16Lanes.load(vs, DType.F32, k);
                    m = g.fma(vOmb1, m.mul(b1));
                    v = g.mul(g).fma(vOmb2, v.mul(b2));
                    FloatVector denom = v.sqrt().fma(vInv, vEps);
                    p = m.div(denom).fma(vStep, p.mul(decay));
                    BFloat16Lanes.store(m, ms, DType.F32, k);
                    BFloat16Lanes.store(v, vs, DType.F32, k);
                    storeParam(p, ps, pt, xs, k);
                }
            }
            for (; k < e; k++) {
                float g = HostElements.getFloat(gs, gt, k);
                float p = xs != null ? HostElements.getFloat(xs, DType.F32, k) : HostElements.getFloat(ps, pt, k);
                float m = HostElements.getFloat(ms, DType.F32, k);
                float v = HostElements.getFloat(vs, DType.F32, k);
                m = Math.fma(g, omb1, m * b1);
                v = Math.fma(g * g, omb2, v * b2);
                float denom = Math.fma((float) Math.sqrt(v), invBc2Sqrt, eps);
                p = Math.fma(m / denom, -stepSize, p * decay);
                HostElements.setFloat(ms, DType.F32, k, m);
                HostElements.setFloat(vs, DType.F32, k, v);
                storeParam(p, ps, pt, xs, k);
            }
        });
    }

    @Override
    public void sgdStep(Tensor[] params, Tensor[] grads, Tensor[] momentumBuffers, Tensor[] masters,
                        SgdHyper[] hyper) {
        for (int i = 0; i < params.length; i++) {
            sgd(params[i], grads[i], momentumBuffers[i], masters[i], hyper[i]);
        }
    }

    private static void sgd(Tensor param, Tensor grad, Tensor buffer, Tensor master, SgdHyper h) {
        MemorySegment ps = param.data();
        MemorySegment gs = grad.data();
        MemorySegment bs = buffer != null ? buffer.data() : null;
        MemorySegment xs = master != null ? master.data() : null;
        DType pt = param.dtype();
        DType gt = grad.dtype();
        float lr = (float) h.lr();
        float wd = (float) h.weightDecay();
        float mom = (float) h.momentum();
        float keep = (float) (1 - h.dampening());
        boolean useBuffer = h.momentum() != 0;
        if (useBuffer && bs == null) {
            throw new IllegalArgumentException("sgdStep: momentum " + h.momentum() + " needs a momentum buffer");
        }
        boolean first = h.firstStep();
        boolean nesterov = h.nesterov();
        boolean vector = BFloat16Lanes.vectorizable(pt) && BFloat16Lanes.vectorizable(gt);
        CpuParallel.forRange(param.numel(), GRAIN, (s, e) -> {
            long k = s;
            if (vector) {
                FloatVector vWd = FloatVector.broadcast(F, wd);
                FloatVector vKeep = FloatVector.broadcast(F, keep);
                FloatVector vMom = FloatVector.broadcast(F, mom);
                FloatVector vLr = FloatVector.broadcast(F, -lr);
                long bound = s + (e - s) / F.length() * F.length();
                for (; k < bound; k += F.length()) {
                    FloatVector g = BFloat16Lanes.load(gs, gt, k);
                    FloatVector p = xs != null ? BFloat16Lanes.load(xs, DType.F32, k) : BFloat16Lanes.load(ps, pt, k);
                    if (wd != 0f) {
                        g = p.fma(vWd, g);
                    }
                    FloatVector d = g;
                    if (useBuffer) {
                        FloatVector b = first ? g : g.fma(vKeep, BFloat16Lanes.load(bs, DType.F32, k).mul(vMom));
                        BFloat16Lanes.store(b, bs, DType.F32, k);
                        d = nesterov ? b.fma(vMom, g) : b;
                    }
                    storeParam(d.fma(vLr, p), ps, pt, xs, k);
                }
            }
            for (; k < e; k++) {
                float g = HostElements.getFloat(gs, gt, k);
                float p = xs != null ? HostElements.getFloat(xs, DType.F32, k) : HostElements.getFloat(ps, pt, k);
                if (wd != 0f) {
                    g = Math.fma(p, wd, g);
                }
                float d = g;
                if (useBuffer) {
                    float b = first ? g : Math.fma(g, keep, HostElements.getFloat(bs, DType.F32, k) * mom);
                    HostElements.setFloat(bs, DType.F32, k, b);
                    d = nesterov ? Math.fma(b, mom, g) : b;
                }
                storeParam(Math.fma(d, -lr, p), ps, pt, xs, k);
            }
        });
    }

    private static void storeParam(FloatVector p, MemorySegment ps, DType pt, MemorySegment xs, long k) {
        if (xs != null) {
            BFloat16Lanes.store(p, xs, DType.F32, k);
        }
        BFloat16Lanes.store(p, ps, pt, k);
    }

    private static void storeParam(float p, MemorySegment ps, DType pt, MemorySegment xs, long k) {
        if (xs != null) {
            HostElements.setFloat(xs, DType.F32, k, p);
        }
        HostElements.setFloat(ps, pt, k, p);
    }
}
