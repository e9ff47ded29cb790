package dev.panomni.tensor.cpu;

import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.AttentionKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Flash attention on the CPU (F32). Work is cut into tiles of {@link #BQ} queries by {@link #BK}
 * keys within one document and head; tiles are copied into small heap arrays (queries pre-scaled,
 * keys transposed so a logit row is a run of vectors), and every product is the same register-
 * blocked kernel {@link #gemm}. Nothing of size [T, T] exists.
 *
 * <ul>
 * <li>Forward: one task per (document, query head, query block); it walks the key blocks with an
 *     online softmax and writes the output rows and their log-sum-exp.</li>
 * <li>Backward, pass 1: one task per (document, kv head, key block); it walks every query head of
 *     its group and every query block that sees it, accumulating dK and dV in a fixed order.</li>
 * <li>Backward, pass 2: one task per (document, query head, query block) accumulating dQ over the
 *     key blocks. Splitting dQ from dK/dV recomputes the logits once more but keeps every output
 *     owned by exactly one task: parallel, race-free and deterministic.</li>
 * </ul>
 */
final class CpuAttentionKernels implements AttentionKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    static final int BQ = 64;
    static final int BK = 64;

    /** One tile task: a query or key block of one head of one document. */
    private record Task(int start, int end, int head, int blockStart) {
    }

    // ---------------------------------------------------------------- forward

    @Override
    public void forward(Tensor q, Tensor k, Tensor v, Tensor cuSeqlens, boolean causal, float scale,
                        Tensor out, Tensor lse) {
        Shape sh = new Shape(q, k);
        int[] docs = documents(cuSeqlens, q);
        Task[] tasks = blockTasks(docs, sh.hq, BQ);
        MemorySegment qs = q.data();
        MemorySegment ks = k.data();
        MemorySegment vs = v.data();
        MemorySegment os = out.data();
        MemorySegment ls = lse == null ? null : lse.data();
        CpuParallel.forRange(tasks.length, 1, (a, b) -> {
            Tile tile = new Tile(sh.d);
            for (long ti = a; ti < b; ti++) {
                forwardTile(tasks[(int) ti], sh, causal, scale, qs, ks, vs, os, ls, tile);
            }
        });
    }

    private static void forwardTile(Task task, Shape sh, boolean causal, float scale, MemorySegment qs,
                                    MemorySegment ks, MemorySegment vs, MemorySegment os, MemorySegment ls,
                                    Tile w) {
        int d = sh.d;
        int dp = w.dp;
        int h = task.head;
        int kvh = h / sh.group;
        int i0 = task.blockStart;
        int nq = Math.min(BQ, task.end - i0);
        loadRows(qs, sh.hq, h, d, i0, nq, scale, w.q, dp);
        float[] m = w.m;
        float[] l = w.l;
        Arrays.fill(m, Float.NEGATIVE_INFINITY);
        Arrays.fill(l, 0f);
        Arrays.fill(w.acc, 0f);
        int keyEnd = causal ? i0 + nq : task.end;
        int nvD = dp / L;
        for (int j0 = task.start; j0 < keyEnd; j0 += BK) {
            int nk = Math.min(BK, keyEnd - j0);
            int nvK = (nk + L - 1) / L;
            loadTransposed(ks, sh.hkv, kvh, d, j0, nk, nvK * L, w.kt, w.stage);
            loadRows(vs, sh.hkv, kvh, d, j0, nk, 1f, w.v, dp);
            gemm(w.q, dp, w.kt, BK, w.s, BK, nq, d, nvK, false);
            for (int r = 0; r < nq; r++) {
                int valid = causal ? Math.min(nk, i0 + r - j0 + 1) : nk;
                int row = r * BK;
                for (int c = Math.max(valid, 0); c < nvK * L; c++) {
                    w.s[row + c] = Float.NEGATIVE_INFINITY;
                }
                FloatVector mx = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
                for (int c = 0; c < nvK * L; c += L) {
                    mx = mx.max(FloatVector.fromArray(F, w.s, row + c));
                }
                float mNew = Math.max(m[r], mx.reduceLanes(VectorOperators.MAX));
                if (mNew == Float.NEGATIVE_INFINITY) {
                    // No key of this block is visible to the row: it contributes nothing.
                    Arrays.fill(w.s, row, row + nvK * L, 0f);
                    continue;
                }
                FloatVector sum = FloatVector.zero(F);
                for (int c = 0; c < nvK * L; c += L) {
                    FloatVector p = VectorExp.exp(FloatVector.fromArray(F, w.s, row + c).sub(mNew));
                    p.intoArray(w.s, row + c);
                    sum = sum.add(p);
                }
                float alpha = VectorExp.exp(m[r] - mNew);
                l[r] = l[r] * alpha + VectorExp.sum(sum);
                m[r] = mNew;
                if (alpha != 1f) {
                    int o = r * dp;
                    for (int c = 0; c < dp; c += L) {
                        FloatVector.fromArray(F, w.acc, o + c).mul(alpha).intoArray(w.acc, o + c);
                    }
                }
            }
            gemm(w.s, BK, w.v, dp, w.acc, dp, nq, nk, nvD, true);
        }
        for (int r = 0; r < nq; r++) {
            float inv = 1f / l[r];
            long base = ((long) (i0 + r) * sh.hq + h) * d;
            for (int c = 0; c < d; c++) {
                os.setAtIndex(FL, base + c, w.acc[r * dp + c] * inv);
            }
            if (ls != null) {
                ls.setAtIndex(FL, (long) h * sh.t + i0 + r, m[r] + (float) StrictMath.log(l[r]));
            }
        }
    }

    // ---------------------------------------------------------------- backward

    @Override
    public void backward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor cuSeqlens,
                         boolean causal, float scale, Tensor dq, Tensor dk, Tensor dv) {
        Shape sh = new Shape(q, k);
        int[] docs = documents(cuSeqlens, q);
        MemorySegment dos = dout.data();
        MemorySegment qs = q.data();
        MemorySegment ks = k.data();
        MemorySegment vs = v.data();
        MemorySegment ls = lse.data();
        // delta[h, t] = dO[t, h] . O[t, h]: the row term of the softmax backward.
        float[] delta = rowDots(dos, out.data(), sh);
        if (dk != null || dv != null) {
            MemorySegment dks = dk == null ? null : dk.data();
            MemorySegment dvs = dv == null ? null : dv.data();
            Task[] tasks = blockTasks(docs, sh.hkv, BK);
            CpuParallel.forRange(tasks.length, 1, (a, b) -> {
                Tile tile = new Tile(sh.d);
                for (long ti = a; ti < b; ti++) {
                    keyTile(tasks[(int) ti], sh, causal, scale, dos, qs, ks, vs, ls, delta, dks, dvs, tile);
                }
            });
        }
        if (dq != null) {
            MemorySegment dqs = dq.data();
            Task[] tasks = blockTasks(docs, sh.hq, BQ);
            CpuParallel.forRange(tasks.length, 1, (a, b) -> {
                Tile tile = new Tile(sh.d);
                for (long ti = a; ti < b; ti++) {
                    queryTile(tasks[(int) ti], sh, causal, scale, dos, qs, ks, vs, ls, delta, dqs, tile);
                }
            });
        }
    }

    /** dK and dV of one key block of one kv head, summed over its query heads and query blocks. */
    private static void keyTile(Task task, Shape sh, boolean causal, float scale, MemorySegment dos,
                                MemorySegment qs, MemorySegment ks, MemorySegment vs, MemorySegment ls,
                                float[] delta, MemorySegment dks, MemorySegment dvs, Tile w) {
        int d = sh.d;
        int dp = w.dp;
        int kvh = task.head;
        int j0 = task.blockStart;
        int nk = Math.min(BK, task.end - j0);
        int nvK = (nk + L - 1) / L;
        int nvD = dp / L;
        loadTransposed(ks, sh.hkv, kvh, d, j0, nk, nvK * L, w.kt, w.stage);
        loadTransposed(vs, sh.hkv, kvh, d, j0, nk, nvK * L, w.vt, w.stage);
        Arrays.fill(w.dk, 0f);
        Arrays.fill(w.dv, 0f);
        // Causal: only queries at or after the block's first key see it; start at their query block.
        int firstQuery = causal ? task.start + (j0 - task.start) / BQ * BQ : task.start;
        for (int h = kvh * sh.group; h < (kvh + 1) * sh.group; h++) {
            for (int i0 = firstQuery; i0 < task.end; i0 += BQ) {
                int nq = Math.min(BQ, task.end - i0);
                loadRows(qs, sh.hq, h, d, i0, nq, scale, w.q, dp);
                loadRows(dos, sh.hq, h, d, i0, nq, 1f, w.dout, dp);
                probabilitiesAndScores(w, sh, h, i0, nq, j0, nk, nvK, causal, ls, delta);
                // dV += P^T dO; dK += dS^T (Q * scale)
                transpose(w.s, BK, nq, nk, w.t, BQ);
                gemm(w.t, BQ, w.dout, dp, w.dv, dp, nk, nq, nvD, true);
                transpose(w.ds, BK, nq, nk, w.t, BQ);
                gemm(w.t, BQ, w.q, dp, w.dk, dp, nk, nq, nvD, true);
            }
        }
        for (int c = 0; c < nk; c++) {
            long base = ((long) (j0 + c) * sh.hkv + kvh) * d;
            for (int e = 0; e < d; e++) {
                if (dks != null) {
                    dks.setAtIndex(FL, base + e, w.dk[c * dp + e]);
                }
                if (dvs != null) {
                    dvs.setAtIndex(FL, base + e, w.dv[c * dp + e]);
                }
            }
        }
    }

    /** dQ of one query block of one query head, summed over the key blocks it sees. */
    private static void queryTile(Task task, Shape sh, boolean causal, float scale, MemorySegment dos,
                                  MemorySegment qs, MemorySegment ks, MemorySegment vs, MemorySegment ls,
                                  float[] delta, MemorySegment dqs, Tile w) {
        int d = sh.d;
        int dp = w.dp;
        int h = task.head;
        int kvh = h / sh.group;
        int i0 = task.blockStart;
        int nq = Math.min(BQ, task.end - i0);
        int nvD = dp / L;
        loadRows(qs, sh.hq, h, d, i0, nq, scale, w.q, dp);
        loadRows(dos, sh.hq, h, d, i0, nq, 1f, w.dout, dp);
        Arrays.fill(w.acc, 0f);
        int keyEnd = causal ? i0 + nq : task.end;
        for (int j0 = task.start; j0 < keyEnd; j0 += BK) {
            int nk = Math.min(BK, keyEnd - j0);
            int nvK = (nk + L - 1) / L;
            loadTransposed(ks, sh.hkv, kvh, d, j0, nk, nvK * L, w.kt, w.stage);
            loadTransposed(vs, sh.hkv, kvh, d, j0, nk, nvK * L, w.vt, w.stage);
            loadRows(ks, sh.hkv, kvh, d, j0, nk, 1f, w.v, dp);
            probabilitiesAndScores(w, sh, h, i0, nq, j0, nk, nvK, causal, ls, delta);
            // dQ += dS K (the scale is applied once at the end)
            gemm(w.ds, BK, w.v, dp, w.acc, dp, nq, nk, nvD, true);
        }
        for (int r = 0; r < nq; r++) {
            long base = ((long) (i0 + r) * sh.hq + h) * d;
            for (int c = 0; c < d; c++) {
                dqs.setAtIndex(FL, base + c, w.acc[r * dp + c] * scale);
            }
        }
    }

    /**
     * For the tile in {@code w} (scaled queries {@code w.q}, transposed keys {@code w.kt} and values
     * {@code w.vt}, output gradient rows {@code w.dout}): {@code w.s = P = exp(S - lse)} with masked
     * entries 0, and {@code w.ds = P * (dO V^T - delta)}.
     */
    private static void probabilitiesAndScores(Tile w, Shape sh, int h, int i0, int nq, int j0, int nk, int nvK,
                                               boolean causal, MemorySegment ls, float[] delta) {
        int d = sh.d;
        gemm(w.q, w.dp, w.kt, BK, w.s, BK, nq, d, nvK, false);
        gemm(w.dout, w.dp, w.vt, BK, w.ds, BK, nq, d, nvK, false);
        for (int r = 0; r < nq; r++) {
            int valid = causal ? Math.min(nk, i0 + r - j0 + 1) : nk;
            int row = r * BK;
            long li = (long) h * sh.t + i0 + r;
            float lse = ls.getAtIndex(FL, li);
            float dl = delta[(int) li];
            int c = 0;
            int vecEnd = Math.max(valid, 0) / L * L;
            for (; c < vecEnd; c += L) {
                FloatVector p = VectorExp.exp(FloatVector.fromArray(F, w.s, row + c).sub(lse));
                p.intoArray(w.s, row + c);
                p.mul(FloatVector.fromArray(F, w.ds, row + c).sub(dl)).intoArray(w.ds, row + c);
            }
            for (; c < valid; c++) {
                float p = VectorExp.exp(w.s[row + c] - lse);
                w.s[row + c] = p;
                w.ds[row + c] = p * (w.ds[row + c] - dl);
            }
            for (c = Math.max(valid, 0); c < nvK * L; c++) {
                w.s[row + c] = 0f;
                w.ds[row + c] = 0f;
            }
        }
    }

    /** delta[h * T + t] = sum_e dO[t, h, e] * O[t, h, e]. */
    private static float[] rowDots(MemorySegment dos, MemorySegment os, Shape sh) {
        float[] delta = new float[Math.toIntExact((long) sh.hq * sh.t)];
        int d = sh.d;
        CpuParallel.forRange(sh.t, Math.max(1, 4096 / Math.max(1, (long) sh.hq * d)), (a, b) -> {
            for (long t = a; t < b; t++) {
                for (int h = 0; h < sh.hq; h++) {
                    long base = (t * sh.hq + h) * d;
                    FloatVector acc = FloatVector.zero(F);
                    int e = 0;
                    for (; e <= d - L; e += L) {
                        FloatVector x = FloatVector.fromMemorySegment(F, dos, (base + e) * 4, LE);
                        FloatVector y = FloatVector.fromMemorySegment(F, os, (base + e) * 4, LE);
                        acc = x.fma(y, acc);
                    }
                    float s = VectorExp.sum(acc);
                    for (; e < d; e++) {
                        s += dos.getAtIndex(FL, base + e) * os.getAtIndex(FL, base + e);
                    }
                    delta[(int) (h * (long) sh.t + t)] = s;
                }
            }
        });
        return delta;
    }

    // ---------------------------------------------------------------- tiles

    /** Problem sizes. */
    private static final class Shape {
        final int t;
        final int hq;
        final int hkv;
        final int d;
        final int group;

        Shape(Tensor q, Tensor k) {
            t = Math.toIntExact(q.size(0));
            hq = Math.toIntExact(q.size(1));
            hkv = Math.toIntExact(k.size(1));
            d = Math.toIntExact(q.size(2));
            group = hq / hkv;
        }
    }

    /** Per-thread scratch of one tile; head-dim rows are padded to whole vectors ({@code dp}). */
    private static final class Tile {
        final int dp;
        final float[] q;
        final float[] dout;
        final float[] kt;
        final float[] vt;
        final float[] v;
        final float[] stage;
        final float[] s = new float[BQ * BK];
        final float[] ds = new float[BQ * BK];
        final float[] t = new float[BK * BQ];
        final float[] acc;
        final float[] dk;
        final float[] dv;
        final float[] m = new float[BQ];
        final float[] l = new float[BQ];

        Tile(int d) {
            dp = Math.max(L, (d + L - 1) / L * L);
            q = new float[BQ * dp];
            dout = new float[BQ * dp];
            kt = new float[d * BK];
            vt = new float[d * BK];
            v = new float[BK * dp];
            stage = new float[BK * d];
            acc = new float[BQ * dp];
            dk = new float[BK * dp];
            dv = new float[BK * dp];
        }
    }

    /**
     * Rows {@code t0 .. t0+n-1} of head {@code h} of a [T, H, d] tensor, times {@code mul}, into
     * {@code dst} with row stride {@code dp}; the padding columns are zero.
     */
    private static void loadRows(MemorySegment src, int heads, int h, int d, int t0, int n, float mul,
                                 float[] dst, int dp) {
        for (int r = 0; r < n; r++) {
            long base = ((long) (t0 + r) * heads + h) * d;
            MemorySegment.copy(src, FL, base * 4, dst, r * dp, d);
            if (mul != 1f) {
                for (int c = 0; c < dp; c += L) {
                    FloatVector.fromArray(F, dst, r * dp + c).mul(mul).intoArray(dst, r * dp + c);
                }
            }
            Arrays.fill(dst, r * dp + d, (r + 1) * dp, 0f);
        }
    }

    /**
     * Rows {@code t0 .. t0+n-1} of head {@code h} of a [T, H, d] tensor transposed into
     * {@code dst} [d, BK]; columns {@code n .. width-1} are zero. The rows are bulk-copied into
     * {@code stage} first, so the transpose runs on a heap array.
     */
    private static void loadTransposed(MemorySegment src, int heads, int h, int d, int t0, int n, int width,
                                       float[] dst, float[] stage) {
        for (int c = 0; c < n; c++) {
            MemorySegment.copy(src, FL, (((long) (t0 + c) * heads + h) * d) * 4, stage, c * d, d);
        }
        transpose(stage, d, n, d, dst, BK);
        if (n < width) {
            for (int e = 0; e < d; e++) {
                Arrays.fill(dst, e * BK + n, e * BK + width, 0f);
            }
        }
    }

    /** {@code dst[c * ldd + r] = src[r * lds + c]} for r < rows, c < cols. */
    private static void transpose(float[] src, int lds, int rows, int cols, float[] dst, int ldd) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                dst[c * ldd + r] = src[r * lds + c];
            }
        }
    }

    /**
     * {@code C[m, nv*L] (+)= A[m, kd] B[kd, nv*L]} on row-major heap arrays with leading dims
     * {@code lda}, {@code ldb}, {@code ldc}. The micro-kernel keeps a 4 x 4-vector block of C in
     * registers, so each B vector loaded feeds four rows and each A element broadcast feeds four
     * vectors; edges fall back to narrower blocks.
     */
    static void gemm(float[] a, int lda, float[] b, int ldb, float[] c, int ldc, int m, int kd, int nv,
                     boolean accumulate) {
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            int jv = 0;
            for (; jv + 4 <= nv; jv += 4) {
                block4x4(a, i * lda, lda, b, jv * L, ldb, c, i * ldc + jv * L, ldc, kd, accumulate);
            }
            for (; jv < nv; jv++) {
                block4x1(a, i * lda, lda, b, jv * L, ldb, c, i * ldc + jv * L, ldc, kd, accumulate);
            }
        }
        for (; i < m; i++) {
            for (int jv = 0; jv < nv; jv++) {
                int c0 = i * ldc + jv * L;
                FloatVector s0 = accumulate ? FloatVector.fromArray(F, c, c0) : FloatVector.zero(F);
                int a0 = i * lda;
                for (int kk = 0; kk < kd; kk++) {
                    s0 = FloatVector.fromArray(F, b, kk * ldb + jv * L).fma(FloatVector.broadcast(F, a[a0 + kk]), s0);
                }
                s0.intoArray(c, c0);
            }
        }
    }

    private static void block4x4(float[] a, int a0, int lda, float[] b, int b0, int ldb, float[] c, int c0, int ldc,
                                 int kd, boolean accumulate) {
        FloatVector s00;
        FloatVector s01;
        FloatVector s02;
        FloatVector s03;
        FloatVector s10;
        FloatVector s11;
        FloatVector s12;
        FloatVector s13;
        FloatVector s20;
        FloatVector s21;
        FloatVector s22;
        FloatVector s23;
        FloatVector s30;
        FloatVector s31;
        FloatVector s32;
        FloatVector s33;
        if (accumulate) {
            s00 = FloatVector.fromArray(F, c, c0);
            s01 = FloatVector.fromArray(F, c, c0 + L);
            s02 = FloatVector.fromArray(F, c, c0 + 2 * L);
            s03 = FloatVector.fromArray(F, c, c0 + 3 * L);
            s10 = FloatVector.fromArray(F, c, c0 + ldc);
            s11 = FloatVector.fromArray(F, c, c0 + ldc + L);
            s12 = FloatVector.fromArray(F, c, c0 + ldc + 2 * L);
            s13 = FloatVector.fromArray(F, c, c0 + ldc + 3 * L);
            s20 = FloatVector.fromArray(F, c, c0 + 2 * ldc);
            s21 = FloatVector.fromArray(F, c, c0 + 2 * ldc + L);
            s22 = FloatVector.fromArray(F, c, c0 + 2 * ldc + 2 * L);
            s23 = FloatVector.fromArray(F, c, c0 + 2 * ldc + 3 * L);
            s30 = FloatVector.fromArray(F, c, c0 + 3 * ldc);
            s31 = FloatVector.fromArray(F, c, c0 + 3 * ldc + L);
            s32 = FloatVector.fromArray(F, c, c0 + 3 * ldc + 2 * L);
            s33 = FloatVector.fromArray(F, c, c0 + 3 * ldc + 3 * L);
        } else {
            FloatVector z = FloatVector.zero(F);
            s00 = z;
            s01 = z;
            s02 = z;
            s03 = z;
            s10 = z;
            s11 = z;
            s12 = z;
            s13 = z;
            s20 = z;
            s21 = z;
            s22 = z;
            s23 = z;
            s30 = z;
            s31 = z;
            s32 = z;
            s33 = z;
        }
        for (int kk = 0; kk < kd; kk++) {
            int bo = kk * ldb + b0;
            FloatVector b0v = FloatVector.fromArray(F, b, bo);
            FloatVector b1v = FloatVector.fromArray(F, b, bo + L);
            FloatVector b2v = FloatVector.fromArray(F, b, bo + 2 * L);
            FloatVector b3v = FloatVector.fromArray(F, b, bo + 3 * L);
            FloatVector x = FloatVector.broadcast(F, a[a0 + kk]);
            s00 = b0v.fma(x, s00);
            s01 = b1v.fma(x, s01);
            s02 = b2v.fma(x, s02);
            s03 = b3v.fma(x, s03);
            x = FloatVector.broadcast(F, a[a0 + lda + kk]);
            s10 = b0v.fma(x, s10);
            s11 = b1v.fma(x, s11);
            s12 = b2v.fma(x, s12);
            s13 = b3v.fma(x, s13);
            x = FloatVector.broadcast(F, a[a0 + 2 * lda + kk]);
            s20 = b0v.fma(x, s20);
            s21 = b1v.fma(x, s21);
            s22 = b2v.fma(x, s22);
            s23 = b3v.fma(x, s23);
            x = FloatVector.broadcast(F, a[a0 + 3 * lda + kk]);
            s30 = b0v.fma(x, s30);
            s31 = b1v.fma(x, s31);
            s32 = b2v.fma(x, s32);
            s33 = b3v.fma(x, s33);
        }
        s00.intoArray(c, c0);
        s01.intoArray(c, c0 + L);
        s02.intoArray(c, c0 + 2 * L);
        s03.intoArray(c, c0 + 3 * L);
        s10.intoArray(c, c0 + ldc);
        s11.intoArray(c, c0 + ldc + L);
        s12.intoArray(c, c0 + ldc + 2 * L);
        s13.intoArray(c, c0 + ldc + 3 * L);
        s20.intoArray(c, c0 + 2 * ldc);
        s21.intoArray(c, c0 + 2 * ldc + L);
        s22.intoArray(c, c0 + 2 * ldc + 2 * L);
        s23.intoArray(c, c0 + 2 * ldc + 3 * L);
        s30.intoArray(c, c0 + 3 * ldc);
        s31.intoArray(c, c0 + 3 * ldc + L);
        s32.intoArray(c, c0 + 3 * ldc + 2 * L);
        s33.intoArray(c, c0 + 3 * ldc + 3 * L);
    }

    private static void block4x1(float[] a, int a0, int lda, float[] b, int b0, int ldb, float[] c, int c0, int ldc,
                                 int kd, boolean accumulate) {
        FloatVector s0 = accumulate ? FloatVector.fromArray(F, c, c0) : FloatVector.zero(F);
        FloatVector s1 = accumulate ? FloatVector.fromArray(F, c, c0 + ldc) : FloatVector.zero(F);
        FloatVector s2 = accumulate ? FloatVector.fromArray(F, c, c0 + 2 * ldc) : FloatVector.zero(F);
        FloatVector s3 = accumulate ? FloatVector.fromArray(F, c, c0 + 3 * ldc) : FloatVector.zero(F);
        for (int kk = 0; kk < kd; kk++) {
            FloatVector bv = FloatVector.fromArray(F, b, kk * ldb + b0);
            s0 = bv.fma(FloatVector.broadcast(F, a[a0 + kk]), s0);
            s1 = bv.fma(FloatVector.broadcast(F, a[a0 + lda + kk]), s1);
            s2 = bv.fma(FloatVector.broadcast(F, a[a0 + 2 * lda + kk]), s2);
            s3 = bv.fma(FloatVector.broadcast(F, a[a0 + 3 * lda + kk]), s3);
        }
        s0.intoArray(c, c0);
        s1.intoArray(c, c0 + ldc);
        s2.intoArray(c, c0 + 2 * ldc);
        s3.intoArray(c, c0 + 3 * ldc);
    }

    // ---------------------------------------------------------------- documents

    /** Document boundaries from cuSeqlens (checked against q [T, H, D]), or {0, T} for one document. */
    private static int[] documents(Tensor cuSeqlens, Tensor q) {
        int t = Math.toIntExact(q.size(0));
        if (cuSeqlens == null) {
            return new int[] {0, t};
        }
        int n = Math.toIntExact(cuSeqlens.numel());
        int[] cu = new int[n];
        MemorySegment.copy(cuSeqlens.data(), ValueLayout.JAVA_INT, 0, cu, 0, n);
        boolean ok = cu[0] == 0 && cu[n - 1] == t;
        for (int i = 1; i < n && ok; i++) {
            ok = cu[i] >= cu[i - 1];
        }
        if (!ok) {
            throw new TensorOpException("sdpa", "cuSeqlens " + Arrays.toString(cu) + " must start at 0, never decrease"
                    + " and end at T=" + t + ", the token count of q " + Shapes.str(q.shape()));
        }
        return cu;
    }

    /** One task per (document, head, block of {@code block} tokens), in document-head-block order. */
    private static Task[] blockTasks(int[] docs, int heads, int block) {
        int count = 0;
        for (int i = 0; i + 1 < docs.length; i++) {
            count += (docs[i + 1] - docs[i] + block - 1) / block * heads;
        }
        Task[] tasks = new Task[count];
        int k = 0;
        for (int i = 0; i + 1 < docs.length; i++) {
            for (int h = 0; h < heads; h++) {
                for (int b = docs[i]; b < docs[i + 1]; b += block) {
                    tasks[k++] = new Task(docs[i], docs[i + 1], h, b);
                }
            }
        }
        return tasks;
    }
}
