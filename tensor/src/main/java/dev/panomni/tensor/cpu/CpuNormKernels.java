package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.NormKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * CPU RMSNorm and LayerNorm on F32 rows. Forward: rows in parallel, each row vectorized along D.
 * Backward: rows are cut into a fixed number of blocks (a function of the row count only, never
 * of the thread count); each block writes dx for its rows and sums its weight/bias gradient into a
 * private partial, and the partials are added in block order, so the result is the same bits on
 * every run and machine.
 */
final class CpuNormKernels implements NormKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT;
    /** Upper bound on the row blocks of a backward pass (and so on its partial buffers). */
    private static final int MAX_BLOCKS = 64;

    // ---------------------------------------------------------------- RMSNorm

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, float eps, Tensor y, Tensor rstd) {
        int d = (int) weight.numel();
        long rows = d == 0 ? 0 : x.numel() / d;
        MemorySegment xs = x.data();
        MemorySegment ws = weight.data();
        MemorySegment ys = y.data();
        MemorySegment rs = rstd == null ? null : rstd.data();
        CpuParallel.forRange(rows, grainRows(d), (r0, r1) -> {
            for (long r = r0; r < r1; r++) {
                long base = r * d * 4;
                float ss = sumSquares(xs, base, d);
                float inv = (float) (1.0 / Math.sqrt(ss / d + (double) eps));
                if (rs != null) {
                    rs.setAtIndex(FL, r, inv);
                }
                int i = 0;
                for (; i <= d - L; i += L) {
                    FloatVector xv = FloatVector.fromMemorySegment(F, xs, base + i * 4L, LE);
                    FloatVector wv = FloatVector.fromMemorySegment(F, ws, i * 4L, LE);
                    xv.mul(inv).mul(wv).intoMemorySegment(ys, base + i * 4L, LE);
                }
                for (; i < d; i++) {
                    ys.set(FL, base + i * 4L, xs.get(FL, base + i * 4L) * inv * ws.getAtIndex(FL, i));
                }
            }
        });
    }

    @Override
    public void rmsNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight) {
        int d = (int) weight.numel();
        long rows = d == 0 ? 0 : x.numel() / d;
        MemorySegment dys = dy.data();
        MemorySegment xs = x.data();
        MemorySegment ws = weight.data();
        MemorySegment rs = rstd.data();
        MemorySegment dxs = dx == null ? null : dx.data();
        int blocks = blockCount(rows);
        long per = blocks == 0 ? 0 : (rows + blocks - 1) / blocks;
        float[][] partial = dweight == null ? null : new float[blocks][d];
        CpuParallel.forRange(blocks, 1, (b0, b1) -> {
            for (long b = b0; b < b1; b++) {
                float[] dw = partial == null ? null : partial[(int) b];
                for (long r = b * per; r < Math.min(rows, (b + 1) * per); r++) {
                    long base = r * d * 4;
                    float inv = rs.getAtIndex(FL, r);
                    if (dxs != null) {
                        // dx = inv * w * dy - inv^3 / D * x * sum(dy * w * x)
                        float dot = dot3(dys, xs, ws, base, d);
                        float c = inv * inv * inv * dot / d;
                        int i = 0;
                        for (; i <= d - L; i += L) {
                            FloatVector g = FloatVector.fromMemorySegment(F, dys, base + i * 4L, LE);
                            FloatVector xv = FloatVector.fromMemorySegment(F, xs, base + i * 4L, LE);
                            FloatVector wv = FloatVector.fromMemorySegment(F, ws, i * 4L, LE);
                            g.mul(wv).mul(inv).sub(xv.mul(c)).intoMemorySegment(dxs, base + i * 4L, LE);
                        }
                        for (; i < d; i++) {
                            float g = dys.get(FL, base + i * 4L);
                            float xv = xs.get(FL, base + i * 4L);
                            dxs.set(FL, base + i * 4L, g * ws.getAtIndex(FL, i) * inv - xv * c);
                        }
                    }
                    if (dw != null) {
                        // dw += dy * x * inv
                        int i = 0;
                        for (; i <= d - L; i += L) {
                            FloatVector g = FloatVector.fromMemorySegment(F, dys, base + i * 4L, LE);
                            FloatVector xv = FloatVector.fromMemorySegment(F, xs, base + i * 4L, LE);
                            g.mul(xv).mul(inv).add(FloatVector.fromArray(F, dw, i)).intoArray(dw, i);
                        }
                        for (; i < d; i++) {
                            dw[i] += dys.get(FL, base + i * 4L) * xs.get(FL, base + i * 4L) * inv;
                        }
                    }
                }
            }
        });
        if (dweight != null) {
            reducePartials(partial, d, dweight.data());
        }
    }

    // ---------------------------------------------------------------- LayerNorm

    @Override
    public void layerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor y, Tensor mean, Tensor rstd) {
        int d = (int) weight.numel();
        long rows = d == 0 ? 0 : x.numel() / d;
        MemorySegment xs = x.data();
        MemorySegment ws = weight.data();
        MemorySegment bs = bias == null ? null : bias.data();
        MemorySegment ys = y.data();
        MemorySegment ms = mean == null ? null : mean.data();
        MemorySegment rs = rstd == null ? null : rstd.data();
        CpuParallel.forRange(rows, grainRows(d), (r0, r1) -> {
            for (long r = r0; r < r1; r++) {
                long base = r * d * 4;
                float mu = sum(xs, base, d) / d;
                // Two passes over a row in cache: the variance of centered values does not cancel.
                float var = centeredSumSquares(xs, base, d, mu) / d;
                float inv = (float) (1.0 / Math.sqrt(var + (double) eps));
                if (ms != null) {
                    ms.setAtIndex(FL, r, mu);
                }
                if (rs != null) {
                    rs.setAtIndex(FL, r, inv);
                }
                int i = 0;
                for (; i <= d - L; i += L) {
                    FloatVector xv = FloatVector.fromMemorySegment(F, xs, base + i * 4L, LE);
                    FloatVector wv = FloatVector.fromMemorySegment(F, ws, i * 4L, LE);
                    FloatVector yv = xv.sub(mu).mul(inv).mul(wv);
                    if (bs != null) {
                        yv = yv.add(FloatVector.fromMemorySegment(F, bs, i * 4L, LE));
                    }
                    yv.intoMemorySegment(ys, base + i * 4L, LE);
                }
                for (; i < d; i++) {
                    float v = (xs.get(FL, base + i * 4L) - mu) * inv * ws.getAtIndex(FL, i);
                    ys.set(FL, base + i * 4L, bs == null ? v : v + bs.getAtIndex(FL, i));
                }
            }
        });
    }

    @Override
    public void layerNormBackward(Tensor dy, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                  Tensor dx, Tensor dweight, Tensor dbias) {
        int d = (int) weight.numel();
        long rows = d == 0 ? 0 : x.numel() / d;
        MemorySegment dys = dy.data();
        MemorySegment xs = x.data();
        MemorySegment ws = weight.data();
        MemorySegment ms = mean.data();
        MemorySegment rs = rstd.data();
        MemorySegment dxs = dx == null ? null : dx.data();
        int blocks = blockCount(rows);
        long per = blocks == 0 ? 0 : (rows + blocks - 1) / blocks;
        float[][] pw = dweight == null ? null : new float[blocks][d];
        float[][] pb = dbias == null ? null : new float[blocks][d];
        CpuParallel.forRange(blocks, 1, (b0, b1) -> {
            for (long b = b0; b < b1; b++) {
                float[] dw = pw == null ? null : pw[(int) b];
                float[] db = pb == null ? null : pb[(int) b];
                for (long r = b * per; r < Math.min(rows, (b + 1) * per); r++) {
                    long base = r * d * 4;
                    float mu = ms.getAtIndex(FL, r);
                    float inv = rs.getAtIndex(FL, r);
                    if (dxs != null) {
                        // With xhat = (x - mu) * inv and g = dy * w:
                        // dx = inv * (g - mean(g) - xhat * mean(g * xhat)).
                        FloatVector sg = FloatVector.zero(F);
                        FloatVector sgx = FloatVector.zero(F);
                        int i = 0;
                        for (; i <= d - L; i += L) {
                            FloatVector g = FloatVector.fromMemorySegment(F, dys, base + i * 4L, LE)
                                    .mul(FloatVector.fromMemorySegment(F, ws, i * 4L, LE));
                            FloatVector xh = FloatVector.fromMemorySegment(F, xs, base + i * 4L, LE).sub(mu).mul(inv);
                            sg = sg.add(g);
                            sgx = g.fma(xh, sgx);
                        }
                        float meanG = VectorExp.sum(sg);
                        float meanGx = VectorExp.sum(sgx);
                        for (int k = i; k < d; k++) {
                            float g = dys.get(FL, base + k * 4L) * ws.getAtIndex(FL, k);
                            float xh = (xs.get(FL, base + k * 4L) - mu) * inv;
                            meanG += g;
                            meanGx += g * xh;
                        }
                        meanG /= d;
                        meanGx /= d;
                        i = 0;
                        for (; i <= d - L; i += L) {
                            FloatVector g = FloatVector.fromMemorySegment(F, dys, base + i * 4L, LE)
                                    .mul(FloatVector.fromMemorySegment(F, ws, i * 4L, LE));
                            FloatVector xh = FloatVector.fromMemorySegment(F, xs, base + i * 4L, LE).sub(mu).mul(inv);
                            g.sub(meanG).sub(xh.mul(meanGx)).mul(inv).intoMemorySegment(dxs, base + i * 4L, LE);
                        }
                        for (; i < d; i++) {
                            float g = dys.get(FL, base + i * 4L) * ws.getAtIndex(FL, i);
                            float xh = (xs.get(FL, base + i * 4L) - mu) * inv;
                            dxs.set(FL, base + i * 4L, (g - meanG - xh * meanGx) * inv);
                        }
                    }
                    if (dw != null || db != null) {
                        int i = 0;
                        for (; i <= d - L; i += L) {
                            FloatVector g = FloatVector.fromMemorySegment(F, dys, base + i * 4L, LE);
                            if (dw != null) {
                                FloatVector xh = FloatVector.fromMemorySegment(F, xs, base + i * 4L, LE).sub(mu).mul(inv);
                                g.fma(xh, FloatVector.fromArray(F, dw, i)).intoArray(dw, i);
                            }
                            if (db != null) {
                                g.add(FloatVector.fromArray(F, db, i)).intoArray(db, i);
                            }
                        }
                        for (; i < d; i++) {
                            float g = dys.get(FL, base + i * 4L);
                            if (dw != null) {
                                dw[i] += g * ((xs.get(FL, base + i * 4L) - mu) * inv);
                            }
                            if (db != null) {
                                db[i] += g;
                            }
                        }
                    }
                }
            }
        });
        if (dweight != null) {
            reducePartials(pw, d, dweight.data());
        }
        if (dbias != null) {
            reducePartials(pb, d, dbias.data());
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Rows per parallel chunk: about 16K elements of work. */
    private static long grainRows(int d) {
        return Math.max(1, (1 << 14) / Math.max(d, 1));
    }

    /** Row blocks of a backward pass: a function of the row count only, for deterministic sums. */
    private static int blockCount(long rows) {
        return (int) Math.min(rows, MAX_BLOCKS);
    }

    /** Sums the per-block partials in block order into {@code out} (F32 [d]). */
    private static void reducePartials(float[][] partial, int d, MemorySegment out) {
        float[] acc = new float[d];
        for (float[] p : partial) {
            int i = 0;
            for (; i <= d - L; i += L) {
                FloatVector.fromArray(F, acc, i).add(FloatVector.fromArray(F, p, i)).intoArray(acc, i);
            }
            for (; i < d; i++) {
                acc[i] += p[i];
            }
        }
        MemorySegment.copy(acc, 0, out, FL, 0, d);
    }

    private static float sum(MemorySegment s, long base, int d) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= d - L; i += L) {
            acc = acc.add(FloatVector.fromMemorySegment(F, s, base + i * 4L, LE));
        }
        float t = VectorExp.sum(acc);
        for (; i < d; i++) {
            t += s.get(FL, base + i * 4L);
        }
        return t;
    }

    private static float sumSquares(MemorySegment s, long base, int d) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= d - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, s, base + i * 4L, LE);
            acc = v.fma(v, acc);
        }
        float t = VectorExp.sum(acc);
        for (; i < d; i++) {
            float v = s.get(FL, base + i * 4L);
            t += v * v;
        }
        return t;
    }

    private static float centeredSumSquares(MemorySegment s, long base, int d, float mu) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= d - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, s, base + i * 4L, LE).sub(mu);
            acc = v.fma(v, acc);
        }
        float t = VectorExp.sum(acc);
        for (; i < d; i++) {
            float v = s.get(FL, base + i * 4L) - mu;
            t += v * v;
        }
        return t;
    }

    /** sum(a[row] * b[row] * w) over one row. */
    private static float dot3(MemorySegment a, MemorySegment b, MemorySegment w, long base, int d) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= d - L; i += L) {
            FloatVector av = FloatVector.fromMemorySegment(F, a, base + i * 4L, LE);
            FloatVector bv = FloatVector.fromMemorySegment(F, b, base + i * 4L, LE);
            FloatVector wv = FloatVector.fromMemorySegment(F, w, i * 4L, LE);
            acc = av.mul(wv).fma(bv, acc);
        }
        float t = VectorExp.sum(acc);
        for (; i < d; i++) {
            t += a.get(FL, base + i * 4L) * b.get(FL, base + i * 4L) * w.getAtIndex(FL, i);
        }
        return t;
    }
}
