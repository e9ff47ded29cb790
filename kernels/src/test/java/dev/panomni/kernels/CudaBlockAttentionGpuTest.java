package dev.panomni.kernels;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.BlockAttention;
import dev.panomni.tensor.ops.BlockAttentionKernels;
import dev.panomni.tensor.ops.BlockMask;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.random.Generator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static dev.panomni.kernels.CudaTestSupport.poisoned;
import static dev.panomni.kernels.CudaTestSupport.toCpu;
import static dev.panomni.kernels.CudaTestSupport.toGpu;
import static dev.panomni.kernels.KernelPairs.Input;
import static dev.panomni.kernels.KernelPairs.cpu;
import static dev.panomni.kernels.KernelPairs.gpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * CUDA block attention (block_attention.cu: tensor-core kernels for BF16/F16 with D = 64 and 128,
 * simple kernels otherwise) against the CPU kernels, on masks shaped like the steps of ring
 * attention: the query block after, before and equal to the key block in the sequence, load-balanced
 * blocks of two chunks, several documents (one empty), positions counted within documents, and
 * unsorted random documents where many rows see no key. Forward (out, lse), merge, and backward from
 * the block's own and from merged (F32) outputs, with and without a log-sum-exp gradient.
 */
@Tag("gpu")
class CudaBlockAttentionGpuTest {
    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    /** Positions and documents of a query block and a key block. */
    private record Meta(long[] qPos, long[] kPos, long[] qDoc, long[] kDoc) {
        int tq() {
            return qPos.length;
        }

        int tk() {
            return kPos.length;
        }

        int rowsSeeingNothing(boolean causal) {
            int n = 0;
            for (int i = 0; i < tq(); i++) {
                boolean any = false;
                for (int j = 0; j < tk() && !any; j++) {
                    any = qDoc[i] == kDoc[j] && (!causal || kPos[j] <= qPos[i]);
                }
                n += any ? 0 : 1;
            }
            return n;
        }
    }

    /**
     * One problem: heads, head dim, causal, the query block's and two key blocks' metadata (the
     * second key block is merged with the first, as the next ring step would), and whether the
     * metadata is I64 (else I32).
     */
    private record Case(String name, int hq, int hkv, int d, boolean causal, Meta a, Meta b, boolean wide) {
        @Override
        public String toString() {
            return name + ": Tq=" + a.tq() + " Tk=" + a.tk() + "+" + b.tk() + " Hq=" + hq + " Hkv=" + hkv + " D=" + d
                    + (causal ? " causal" : " bidirectional") + (wide ? " I64" : " I32") + " metadata, "
                    + a.rowsSeeingNothing(causal) + " rows seeing no key of the first block";
        }
    }

    /** Tokens idx of a sequence of n tokens cut into documents at cu (positions global, or within documents). */
    private static long[][] tokens(int n, int[] cu, long[] idx, boolean withinDocument) {
        long[] pos = new long[idx.length];
        long[] doc = new long[idx.length];
        for (int i = 0; i < idx.length; i++) {
            int t = (int) idx[i];
            int dix = 0;
            while (dix + 1 < cu.length && cu[dix + 1] <= t) {
                dix++;
            }
            doc[i] = dix;
            pos[i] = withinDocument ? t - cu[dix] : t;
        }
        return new long[][] {pos, doc};
    }

    private static Meta ring(int n, int[] cu, long[] qIdx, long[] kIdx, boolean withinDocument) {
        long[][] q = tokens(n, cu, qIdx, withinDocument);
        long[][] k = tokens(n, cu, kIdx, withinDocument);
        return new Meta(q[0], k[0], q[1], k[1]);
    }

    private static Meta ring(int n, int[] cu, long[] qIdx, long[] kIdx) {
        return ring(n, cu, qIdx, kIdx, false);
    }

    private static long[] range(long from, long to) {
        return LongStream.range(from, to).toArray();
    }

    private static long[] concat(long[] a, long[] b) {
        return LongStream.concat(Arrays.stream(a), Arrays.stream(b)).toArray();
    }

    private static Meta random(long seed, int tq, int tk, int docs) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] qp = r.longs(tq, 0, 3L * Math.max(tq, tk)).toArray();
        long[] kp = r.longs(tk, 0, 3L * Math.max(tq, tk)).toArray();
        long[] qd = r.longs(tq, 0, docs).toArray();
        long[] kd = r.longs(tk, 0, docs).toArray();
        return new Meta(qp, kp, qd, kd);
    }

    private static Case[] cases() {
        int[] cu = {0, 100, 760, 1024};
        int[] withEmpty = {0, 37, 37, 150, 300};
        return new Case[] {
            // Ring step where the key block is earlier: one-document tiles are fully visible.
            new Case("query block after key block", 4, 2, 64, true,
                    ring(1024, cu, range(600, 800), range(200, 456)),
                    ring(1024, cu, range(600, 800), range(456, 700)), true),
            // Ring step where the key block is later: nothing visible under a causal mask.
            new Case("query block before key block", 4, 1, 128, true,
                    ring(1024, cu, range(0, 250), range(600, 850)),
                    ring(1024, cu, range(0, 250), range(0, 250)), false),
            // The diagonal step, documents starting mid-tile and an empty one.
            new Case("query block = key block", 4, 2, 64, true,
                    ring(300, withEmpty, range(0, 300), range(0, 300)),
                    ring(300, withEmpty, range(0, 300), range(20, 170)),
                    false),
            // The diagonal step inside one document: whole tiles of one document that still need the mask.
            new Case("query block = key block, one document", 4, 2, 64, true,
                    ring(512, new int[] {0, 512}, range(0, 384), range(0, 384)),
                    ring(512, new int[] {0, 512}, range(0, 384), range(384, 512)), false),
            new Case("query block = key block, one document D128", 2, 1, 128, true,
                    ring(512, new int[] {0, 512}, range(128, 512), range(128, 512)),
                    ring(512, new int[] {0, 512}, range(128, 512), range(0, 128)), true),
            new Case("query block = key block, bidirectional", 8, 2, 128, false,
                    ring(300, withEmpty, range(0, 300), range(0, 300)),
                    ring(300, withEmpty, range(0, 300), range(20, 170)),
                    true),
            // Load-balanced sharding: each rank holds two chunks; positions within documents.
            new Case("load-balanced chunks", 2, 1, 128, true,
                    ring(1536, new int[] {0, 250, 1536}, concat(range(192, 384), range(1152, 1344)),
                            concat(range(0, 192), range(1344, 1536)), true),
                    ring(1536, new int[] {0, 250, 1536}, concat(range(192, 384), range(1152, 1344)),
                            concat(range(192, 384), range(1152, 1344)), true), true),
            new Case("load-balanced chunks D64", 4, 4, 64, true,
                    ring(1536, new int[] {0, 900, 1536}, concat(range(0, 192), range(1344, 1536)),
                            concat(range(192, 384), range(1152, 1344))),
                    ring(1536, new int[] {0, 900, 1536}, concat(range(0, 192), range(1344, 1536)),
                            concat(range(0, 192), range(1344, 1536))), false),
            // Unsorted documents and positions: mixed tiles everywhere, many rows see nothing.
            new Case("random documents", 2, 2, 64, true, random(11, 150, 170, 5), random(12, 150, 90, 5), true),
            new Case("random documents, bidirectional", 4, 2, 128, false, random(13, 333, 200, 7),
                    random(14, 333, 129, 7), false),
            // Head dims served by the simple kernels in every dtype.
            new Case("head dim 32", 4, 2, 32, true, ring(400, new int[] {0, 50, 400}, range(150, 246), range(100, 180)),
                    ring(400, new int[] {0, 50, 400}, range(150, 246), range(0, 100)), false),
            new Case("head dim 80", 2, 1, 80, false, random(15, 70, 90, 3), random(16, 70, 40, 3), true),
        };
    }

    private static double tol(DType dt) {
        return dt == DType.F32 ? 1e-5 : 2e-2;
    }

    private static Tensor index(long[] values, boolean wide, Device device) {
        Tensor longs = Tensor.ofLongs(values, values.length);
        Tensor host = wide ? longs : GradMode.noGrad(() -> Layout.cast(longs, DType.I32));
        return device.equals(Device.CPU) ? host : toGpu(host);
    }

    /** The metadata as tensors on one device: {qPos, kPos, qDoc, kDoc}. */
    private static Tensor[] on(Meta m, boolean wide, Device device) {
        return new Tensor[] {index(m.qPos, wide, device), index(m.kPos, wide, device), index(m.qDoc, wide, device),
            index(m.kDoc, wide, device)};
    }

    private static void assertClose(Tensor gpuOut, Tensor cpuOut, double tol, String what) {
        CudaTestSupport.assertClose(KernelPairs.back(gpuOut), cpuOut, tol, what);
    }

    @Test
    void forwardMergeAndBackwardMatchTheCpu() {
        long seed = 100;
        for (DType dt : new DType[] {DType.BF16, DType.F16, DType.F32}) {
            for (Case c : cases()) {
                try (Scope s = Scope.open("block attention test")) {
                    String what = "blockAttention " + dt + " " + c;
                    int tq = c.a.tq();
                    float scale = (float) (1.0 / Math.sqrt(c.d));
                    BlockAttentionKernels g = gpu(BlockAttentionKernels.class);
                    BlockAttentionKernels h = cpu(BlockAttentionKernels.class);
                    Input q = KernelPairs.normal(dt, seed++, tq, c.hq, c.d);
                    Input[] k = new Input[2];
                    Input[] v = new Input[2];
                    Tensor[] outG = new Tensor[2];
                    Tensor[] lseG = new Tensor[2];
                    Tensor[] outC = new Tensor[2];
                    Tensor[] lseC = new Tensor[2];
                    Meta[] metas = {c.a, c.b};
                    for (int blk = 0; blk < 2; blk++) {
                        Meta m = metas[blk];
                        String w = what + " key block " + blk + " (Tk=" + m.tk() + ")";
                        k[blk] = KernelPairs.normal(dt, seed++, m.tk(), c.hkv, c.d);
                        v[blk] = KernelPairs.normal(dt, seed++, m.tk(), c.hkv, c.d);
                        Tensor[] mg = on(m, c.wide, CUDA);
                        Tensor[] mc = on(m, c.wide, Device.CPU);
                        outG[blk] = poisoned(dt, CUDA, tq, c.hq, c.d);
                        lseG[blk] = poisoned(DType.F32, CUDA, c.hq, tq);
                        outC[blk] = Tensor.empty(DType.F32, Device.CPU, tq, c.hq, c.d);
                        lseC[blk] = Tensor.empty(DType.F32, Device.CPU, c.hq, tq);
                        g.forward(q.gpu(), k[blk].gpu(), v[blk].gpu(), mg[0], mg[1], mg[2], mg[3], c.causal, scale,
                                outG[blk], lseG[blk]);
                        h.forward(q.cpu(), k[blk].cpu(), v[blk].cpu(), mc[0], mc[1], mc[2], mc[3], c.causal, scale,
                                outC[blk], lseC[blk]);
                        assertClose(outG[blk], outC[blk], tol(dt), w + " forward out");
                        // lse: -infinity exactly where the CPU has it (rows that see no key), close elsewhere.
                        assertClose(lseG[blk], lseC[blk], dt == DType.F32 ? 1e-5 : 1e-3, w + " forward lse");
                    }

                    // Merge both blocks into an accumulator that starts as "no keys" (lse -inf) over
                    // arbitrary values, as a ring step after step; the GPU merges its own dtype's out.
                    Tensor accInit = new Generator(seed++).normal(new long[] {tq, c.hq, c.d}, 0, 1);
                    Tensor accOutG = toGpu(accInit);
                    Tensor accLseG = toGpu(Tensor.full(DType.F32, Device.CPU, Double.NEGATIVE_INFINITY, c.hq, tq));
                    Tensor accOutC = KernelPairs.f32(accInit);
                    Tensor accLseC = Tensor.full(DType.F32, Device.CPU, Double.NEGATIVE_INFINITY, c.hq, tq);
                    for (int blk = 0; blk < 2; blk++) {
                        g.mergeInto(accOutG, accLseG, outG[blk], lseG[blk]);
                        h.mergeInto(accOutC, accLseC, KernelPairs.back(outG[blk]), toCpu(lseG[blk]));
                        assertClose(accOutG, accOutC, 1e-5, what + " mergeInto out after block " + blk);
                        assertClose(accLseG, accLseC, 1e-5, what + " mergeInto lse after block " + blk);
                    }

                    // Backward of key block 0, both sides reading the GPU's out and lse: (1) the block's
                    // own out (dtype dt) and lse; (2) the merged F32 out and lse; (3) that with dlse.
                    Meta m = c.a;
                    Tensor[] mg = on(m, c.wide, CUDA);
                    Tensor[] mc = on(m, c.wide, Device.CPU);
                    Input dout = KernelPairs.normal(dt, seed++, tq, c.hq, c.d);
                    Tensor dlse = new Generator(seed++).normal(new long[] {c.hq, tq}, 0, 1);
                    Tensor[][] variants = {
                        {outG[0], lseG[0], null},
                        {accOutG, accLseG, null},
                        {accOutG, accLseG, dlse},
                    };
                    String[] names = {"own out/lse", "merged F32 out/lse", "merged F32 out/lse with dlse"};
                    for (int var = 0; var < variants.length; var++) {
                        String w = what + " backward from " + names[var];
                        Tensor og = variants[var][0];
                        Tensor lg = variants[var][1];
                        Tensor dl = variants[var][2];
                        Tensor dqg = poisoned(dt, CUDA, tq, c.hq, c.d);
                        Tensor dkg = poisoned(dt, CUDA, m.tk(), c.hkv, c.d);
                        Tensor dvg = poisoned(dt, CUDA, m.tk(), c.hkv, c.d);
                        Tensor dqc = Tensor.empty(DType.F32, Device.CPU, tq, c.hq, c.d);
                        Tensor dkc = Tensor.empty(DType.F32, Device.CPU, m.tk(), c.hkv, c.d);
                        Tensor dvc = Tensor.empty(DType.F32, Device.CPU, m.tk(), c.hkv, c.d);
                        g.backward(dout.gpu(), dl == null ? null : toGpu(dl), q.gpu(), k[0].gpu(), v[0].gpu(), og, lg,
                                mg[0], mg[1], mg[2], mg[3], c.causal, scale, dqg, dkg, dvg);
                        h.backward(dout.cpu(), dl, q.cpu(), k[0].cpu(), v[0].cpu(), KernelPairs.back(og), toCpu(lg),
                                mc[0], mc[1], mc[2], mc[3], c.causal, scale, dqc, dkc, dvc);
                        assertClose(dqg, dqc, tol(dt), w + " dq");
                        assertClose(dkg, dkc, tol(dt), w + " dk");
                        assertClose(dvg, dvc, tol(dt), w + " dv");
                        if (var == 2) {
                            // Deterministic, and each gradient alone equals the joint one.
                            Tensor dq2 = poisoned(dt, CUDA, tq, c.hq, c.d);
                            Tensor dk2 = poisoned(dt, CUDA, m.tk(), c.hkv, c.d);
                            Tensor dv2 = poisoned(dt, CUDA, m.tk(), c.hkv, c.d);
                            Tensor dlg = toGpu(dl);
                            g.backward(dout.gpu(), dlg, q.gpu(), k[0].gpu(), v[0].gpu(), og, lg, mg[0], mg[1], mg[2],
                                    mg[3], c.causal, scale, dq2, null, null);
                            g.backward(dout.gpu(), dlg, q.gpu(), k[0].gpu(), v[0].gpu(), og, lg, mg[0], mg[1], mg[2],
                                    mg[3], c.causal, scale, null, dk2, null);
                            g.backward(dout.gpu(), dlg, q.gpu(), k[0].gpu(), v[0].gpu(), og, lg, mg[0], mg[1], mg[2],
                                    mg[3], c.causal, scale, null, null, dv2);
                            assertArrayEquals(dqg.toFloatArray(), dq2.toFloatArray(), w + ": dq alone vs joint");
                            assertArrayEquals(dkg.toFloatArray(), dk2.toFloatArray(), w + ": dk alone vs joint");
                            assertArrayEquals(dvg.toFloatArray(), dv2.toFloatArray(), w + ": dv alone vs joint");
                        }
                    }
                }
            }
        }
    }

    /** The front end on the GPU (working copies, dtype handling, the recorded node) against the CPU. */
    @Test
    void frontEndMatchesTheCpu() {
        Meta m = ring(1024, new int[] {0, 300, 1024}, range(500, 700), range(200, 456));
        for (DType dt : new DType[] {DType.BF16, DType.F32}) {
            try (Scope s = Scope.open("block attention front end")) {
                String what = "BlockAttention front end " + dt;
                Input q = KernelPairs.normal(dt, 1, m.tq(), 4, 64);
                Input k = KernelPairs.normal(dt, 2, m.tk(), 2, 64);
                Input v = KernelPairs.normal(dt, 3, m.tk(), 2, 64);
                Tensor[] mg = on(m, true, CUDA);
                Tensor[] mc = on(m, false, Device.CPU);
                BlockMask maskG = new BlockMask(mg[0], mg[1], mg[2], mg[3], true);
                BlockMask maskC = new BlockMask(mc[0], mc[1], mc[2], mc[3], true);
                BlockAttention.Result rg = BlockAttention.attend(q.gpu(), k.gpu(), v.gpu(), maskG, Double.NaN);
                BlockAttention.Result rc = BlockAttention.attend(q.cpu(), k.cpu(), v.cpu(), maskC, Double.NaN);
                assertClose(rg.out(), KernelPairs.f32(rc.out()), tol(dt), what + " out");
                assertClose(rg.lse(), rc.lse(), dt == DType.F32 ? 1e-5 : 1e-3, what + " lse");
                Input dout = KernelPairs.normal(dt, 4, m.tq(), 4, 64);
                Tensor dlse = new Generator(5).normal(new long[] {4, m.tq()}, 0, 1);
                Tensor[] gg = BlockAttention.backwardOf(dout.gpu(), toGpu(dlse), q.gpu(), k.gpu(), v.gpu(), rg.out(),
                        rg.lse(), maskG, Double.NaN);
                Tensor[] gc = BlockAttention.backwardOf(dout.cpu(), dlse, q.cpu(), k.cpu(), v.cpu(),
                        KernelPairs.back(rg.out()), toCpu(rg.lse()), maskC, Double.NaN);
                String[] names = {"dq", "dk", "dv"};
                for (int i = 0; i < 3; i++) {
                    if (gg[i].dtype() != dt) {
                        fail(what + " " + names[i] + " came back as " + gg[i].dtype() + ", expected " + dt);
                    }
                    assertClose(gg[i], KernelPairs.f32(gc[i]), tol(dt), what + " " + names[i]);
                }
            }
        }
    }
}
