package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.BlockAttentionKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Block attention on the CPU (F32), row by row: one task per (query head, query) for the forward
 * and dq, one per (kv head, key) for dk and dv, so every output element is written by one task in a
 * fixed order (deterministic). Each row's logits over the visible keys are formed in a small array;
 * dot products and row updates are vectorized over the head dim. The mask comes from positions and
 * document ids, so query and key blocks need not be adjacent or in order.
 */
final class CpuBlockAttentionKernels implements BlockAttentionKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT;
    private static final ByteOrder LE = ByteOrder.nativeOrder();

    /** Sizes and metadata shared by the kernels. */
    private record Geometry(int tq, int tk, int hq, int hkv, int d, long[] qPos, long[] kPos, long[] qDoc, long[] kDoc,
                            boolean causal) {
        int group() {
            return hq / hkv;
        }

        boolean visible(int i, int j) {
            return qDoc[i] == kDoc[j] && (!causal || kPos[j] <= qPos[i]);
        }
    }

    private static Geometry geometry(Tensor q, Tensor k, Tensor qPos, Tensor kPos, Tensor qDoc, Tensor kDoc,
                                     boolean causal) {
        return new Geometry((int) q.size(0), (int) k.size(0), (int) q.size(1), (int) k.size(1), (int) q.size(2),
                longs(qPos), longs(kPos), longs(qDoc), longs(kDoc), causal);
    }

    private static long[] longs(Tensor t) {
        MemorySegment s = t.data();
        DType dt = t.dtype();
        long[] out = new long[(int) t.numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = HostElements.getLong(s, dt, i);
        }
        return out;
    }

    // ---------------------------------------------------------------- forward

    @Override
    public void forward(Tensor q, Tensor k, Tensor v, Tensor qPos, Tensor kPos, Tensor qDoc, Tensor kDoc,
                        boolean causal, float scale, Tensor out, Tensor lse) {
        Geometry g = geometry(q, k, qPos, kPos, qDoc, kDoc, causal);
        MemorySegment qs = q.data();
        MemorySegment ks = k.data();
        MemorySegment vs = v.data();
        MemorySegment os = out.data();
        MemorySegment ls = lse.data();
        int d = g.d;
        CpuParallel.forRange((long) g.hq * g.tq, Math.max(1, 4096 / Math.max(1, g.tk)), (a, b) -> {
            float[] logits = new float[g.tk];
            float[] qrow = new float[d];
            float[] acc = new float[d];
            for (long idx = a; idx < b; idx++) {
                int h = (int) (idx / g.tq);
                int i = (int) (idx % g.tq);
                int kvh = h / g.group();
                load(qs, row(i, h, g.hq, d), qrow, d);
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < g.tk; j++) {
                    if (g.visible(i, j)) {
                        logits[j] = scale * dot(qrow, ks, row(j, kvh, g.hkv, d), d);
                        max = Math.max(max, logits[j]);
                    }
                }
                java.util.Arrays.fill(acc, 0f);
                long orow = row(i, h, g.hq, d);
                if (max == Float.NEGATIVE_INFINITY) {
                    store(acc, os, orow, d);
                    ls.setAtIndex(FL, (long) h * g.tq + i, Float.NEGATIVE_INFINITY);
                    continue;
                }
                double sum = 0;
                for (int j = 0; j < g.tk; j++) {
                    if (g.visible(i, j)) {
                        float p = (float) Math.exp(logits[j] - max);
                        sum += p;
                        axpy(p, vs, row(j, kvh, g.hkv, d), acc, d);
                    }
                }
                float inv = (float) (1.0 / sum);
                for (int c = 0; c < d; c++) {
                    acc[c] *= inv;
                }
                store(acc, os, orow, d);
                ls.setAtIndex(FL, (long) h * g.tq + i, (float) (max + Math.log(sum)));
            }
        });
    }

    // ---------------------------------------------------------------- backward

    @Override
    public void backward(Tensor dout, Tensor dlse, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor qPos,
                         Tensor kPos, Tensor qDoc, Tensor kDoc, boolean causal, float scale, Tensor dq, Tensor dk,
                         Tensor dv) {
        Geometry g = geometry(q, k, qPos, kPos, qDoc, kDoc, causal);
        int d = g.d;
        MemorySegment qs = q.data();
        MemorySegment ks = k.data();
        MemorySegment vs = v.data();
        MemorySegment dos = dout.data();
        MemorySegment ls = lse.data();
        // delta[h, i] = dout_i . out_i - dlse[h, i]: the row term of the softmax backward.
        float[] delta = new float[g.hq * g.tq];
        MemorySegment os = out.data();
        MemorySegment dls = dlse == null ? null : dlse.data();
        CpuParallel.forRange((long) g.hq * g.tq, 256, (a, b) -> {
            float[] x = new float[d];
            for (long idx = a; idx < b; idx++) {
                int h = (int) (idx / g.tq);
                int i = (int) (idx % g.tq);
                load(dos, row(i, h, g.hq, d), x, d);
                float dl = dls == null ? 0f : dls.getAtIndex(FL, idx);
                delta[(int) idx] = dot(x, os, row(i, h, g.hq, d), d) - dl;
            }
        });
        if (dq != null) {
            MemorySegment dqs = dq.data();
            CpuParallel.forRange((long) g.hq * g.tq, Math.max(1, 4096 / Math.max(1, g.tk)), (a, b) -> {
                float[] qrow = new float[d];
                float[] dorow = new float[d];
                float[] acc = new float[d];
                for (long idx = a; idx < b; idx++) {
                    int h = (int) (idx / g.tq);
                    int i = (int) (idx % g.tq);
                    int kvh = h / g.group();
                    java.util.Arrays.fill(acc, 0f);
                    float l = ls.getAtIndex(FL, idx);
                    if (l != Float.NEGATIVE_INFINITY) {
                        load(qs, row(i, h, g.hq, d), qrow, d);
                        load(dos, row(i, h, g.hq, d), dorow, d);
                        for (int j = 0; j < g.tk; j++) {
                            if (!g.visible(i, j)) {
                                continue;
                            }
                            float p = (float) Math.exp(scale * dot(qrow, ks, row(j, kvh, g.hkv, d), d) - l);
                            float dp = dot(dorow, vs, row(j, kvh, g.hkv, d), d);
                            axpy(p * (dp - delta[(int) idx]) * scale, ks, row(j, kvh, g.hkv, d), acc, d);
                        }
                    }
                    store(acc, dqs, row(i, h, g.hq, d), d);
                }
            });
        }
        if (dk != null || dv != null) {
            MemorySegment dks = dk == null ? null : dk.data();
            MemorySegment dvs = dv == null ? null : dv.data();
            CpuParallel.forRange((long) g.hkv * g.tk, Math.max(1, 4096 / Math.max(1, g.tq * g.group())), (a, b) -> {
                float[] krow = new float[d];
                float[] vrow = new float[d];
                float[] dkAcc = new float[d];
                float[] dvAcc = new float[d];
                for (long idx = a; idx < b; idx++) {
                    int kvh = (int) (idx / g.tk);
                    int j = (int) (idx % g.tk);
                    load(ks, row(j, kvh, g.hkv, d), krow, d);
                    load(vs, row(j, kvh, g.hkv, d), vrow, d);
                    java.util.Arrays.fill(dkAcc, 0f);
                    java.util.Arrays.fill(dvAcc, 0f);
                    for (int h = kvh * g.group(); h < (kvh + 1) * g.group(); h++) {
                        for (int i = 0; i < g.tq; i++) {
                            if (!g.visible(i, j)) {
                                continue;
                            }
                            float l = ls.getAtIndex(FL, (long) h * g.tq + i);
                            if (l == Float.NEGATIVE_INFINITY) {
                                continue;
                            }
                            long qr = row(i, h, g.hq, d);
                            float p = (float) Math.exp(scale * dot(krow, qs, qr, d) - l);
                            float dp = dot(vrow, dos, qr, d);
                            axpy(p, dos, qr, dvAcc, d);
                            axpy(p * (dp - delta[h * g.tq + i]) * scale, qs, qr, dkAcc, d);
                        }
                    }
                    if (dks != null) {
                        store(dkAcc, dks, row(j, kvh, g.hkv, d), d);
                    }
                    if (dvs != null) {
                        store(dvAcc, dvs, row(j, kvh, g.hkv, d), d);
                    }
                }
            });
        }
    }

    // ---------------------------------------------------------------- merge

    @Override
    public void mergeInto(Tensor accOut, Tensor accLse, Tensor out, Tensor lse) {
        int tq = (int) out.size(0);
        int hq = (int) out.size(1);
        int d = (int) out.size(2);
        MemorySegment ao = accOut.data();
        MemorySegment al = accLse.data();
        MemorySegment bo = out.data();
        MemorySegment bl = lse.data();
        CpuParallel.forRange((long) hq * tq, 256, (a, b) -> {
            float[] x = new float[d];
            for (long idx = a; idx < b; idx++) {
                int h = (int) (idx / tq);
                int i = (int) (idx % tq);
                float la = al.getAtIndex(FL, idx);
                float lb = bl.getAtIndex(FL, idx);
                if (lb == Float.NEGATIVE_INFINITY) {
                    continue;
                }
                long r = row(i, h, hq, d);
                if (la == Float.NEGATIVE_INFINITY) {
                    load(bo, r, x, d);
                    store(x, ao, r, d);
                    al.setAtIndex(FL, idx, lb);
                    continue;
                }
                double m = Math.max(la, lb);
                double lnew = m + Math.log(Math.exp(la - m) + Math.exp(lb - m));
                float wa = (float) Math.exp(la - lnew);
                float wb = (float) Math.exp(lb - lnew);
                load(ao, r, x, d);
                for (int c = 0; c < d; c++) {
                    x[c] = x[c] * wa + wb * bo.getAtIndex(FL, r + c);
                }
                store(x, ao, r, d);
                al.setAtIndex(FL, idx, (float) lnew);
            }
        });
    }

    // ---------------------------------------------------------------- row helpers

    /** Element offset of row (token t, head h) in a [T, H, D] tensor. */
    private static long row(int t, int h, int heads, int d) {
        return ((long) t * heads + h) * d;
    }

    private static void load(MemorySegment s, long off, float[] dst, int d) {
        MemorySegment.copy(s, FL, off * Float.BYTES, dst, 0, d);
    }

    private static void store(float[] src, MemorySegment s, long off, int d) {
        MemorySegment.copy(src, 0, s, FL, off * Float.BYTES, d);
    }

    /** {@code x . s[off .. off + d)}. */
    private static float dot(float[] x, MemorySegment s, long off, int d) {
        int c = 0;
        FloatVector acc = FloatVector.zero(F);
        long base = off * Float.BYTES;
        for (; c + F.length() <= d; c += F.length()) {
            FloatVector a = FloatVector.fromArray(F, x, c);
            FloatVector b = FloatVector.fromMemorySegment(F, s, base + (long) c * Float.BYTES, LE);
            acc = a.fma(b, acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; c < d; c++) {
            sum += x[c] * s.getAtIndex(FL, off + c);
        }
        return sum;
    }

    /** {@code acc += a * s[off .. off + d)}. */
    private static void axpy(float a, MemorySegment s, long off, float[] acc, int d) {
        int c = 0;
        long base = off * Float.BYTES;
        FloatVector av = FloatVector.broadcast(F, a);
        for (; c + F.length() <= d; c += F.length()) {
            FloatVector b = FloatVector.fromMemorySegment(F, s, base + (long) c * Float.BYTES, LE);
            b.fma(av, FloatVector.fromArray(F, acc, c)).intoArray(acc, c);
        }
        for (; c < d; c++) {
            acc[c] += a * s.getAtIndex(FL, off + c);
        }
    }
}
