package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.ArithKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** CPU broadcasting arithmetic; F32 runs with unit strides are vectorized. */
final class CpuArithKernels implements ArithKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final long GRAIN = 1 << 14;

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        MemorySegment sa = a.storage().segment();
        MemorySegment sb = b.storage().segment();
        MemorySegment so = out.storage().segment();
        long[] shape = out.shape();
        long[] as = a.strides();
        long[] bs = b.strides();
        int r = shape.length;
        long ia = r == 0 ? 0 : as[r - 1];
        long ib = r == 0 ? 0 : bs[r - 1];
        DType dt = out.dtype();
        long oo = out.offset();
        CpuParallel.forRange(out.numel(), GRAIN, (from, to) -> StridedWalk.walk(shape, as, a.offset(), bs, b.offset(),
                from, to, (o, oa, ob, len) -> {
                    if (dt == DType.F32) {
                        runF32(op, sa, oa, ia, sb, ob, ib, so, oo + o, len);
                    } else {
                        for (long k = 0; k < len; k++) {
                            double x = HostElements.getFloat(sa, dt, oa + k * ia);
                            double y = HostElements.getFloat(sb, dt, ob + k * ib);
                            if (dt.isFloating()) {
                                HostElements.setFloat(so, dt, oo + o + k, (float) apply(op, x, y));
                            } else {
                                long xi = HostElements.getLong(sa, dt, oa + k * ia);
                                long yi = HostElements.getLong(sb, dt, ob + k * ib);
                                HostElements.setLong(so, dt, oo + o + k, applyLong(op, xi, yi));
                            }
                        }
                    }
                }));
    }

    private static double apply(BinaryOp op, double x, double y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
        };
    }

    private static long applyLong(BinaryOp op, long x, long y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> {
                if (y == 0) {
                    throw new ArithmeticException("div: integer division by zero");
                }
                yield Math.floorDiv(x, y);
            }
        };
    }

    private static void runF32(BinaryOp op, MemorySegment sa, long oa, long ia, MemorySegment sb, long ob, long ib,
                               MemorySegment so, long oo, long len) {
        long k = 0;
        if (ia == 1 && (ib == 1 || ib == 0)) {
            long bound = len - len % F.length();
            FloatVector bScalar = ib == 0 ? FloatVector.broadcast(F, sb.getAtIndex(ValueLayout.JAVA_FLOAT, ob)) : null;
            for (; k < bound; k += F.length()) {
                FloatVector x = FloatVector.fromMemorySegment(F, sa, (oa + k) * 4, LE);
                FloatVector y = bScalar != null ? bScalar : FloatVector.fromMemorySegment(F, sb, (ob + k) * 4, LE);
                FloatVector z = switch (op) {
                    case ADD -> x.add(y);
                    case SUB -> x.sub(y);
                    case MUL -> x.mul(y);
                    case DIV -> x.div(y);
                };
                z.intoMemorySegment(so, (oo + k) * 4, LE);
            }
        }
        for (; k < len; k++) {
            float x = sa.getAtIndex(ValueLayout.JAVA_FLOAT, oa + k * ia);
            float y = sb.getAtIndex(ValueLayout.JAVA_FLOAT, ob + k * ib);
            float z = switch (op) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                case DIV -> x / y;
            };
            so.setAtIndex(ValueLayout.JAVA_FLOAT, oo + k, z);
        }
    }

    @Override
    public void affine(Tensor a, double scale, double shift, Tensor out) {
        MemorySegment sa = a.storage().segment();
        MemorySegment so = out.storage().segment();
        DType dt = out.dtype();
        long ao = a.offset();
        long oo = out.offset();
        CpuParallel.forRange(out.numel(), GRAIN, (s, e) -> {
            if (dt == DType.F32) {
                float sc = (float) scale;
                float sh = (float) shift;
                long k = s;
                long bound = s + (e - s) - (e - s) % F.length();
                for (; k < bound; k += F.length()) {
                    FloatVector.fromMemorySegment(F, sa, (ao + k) * 4, LE).fma(sc, sh)
                            .intoMemorySegment(so, (oo + k) * 4, LE);
                }
                for (; k < e; k++) {
                    so.setAtIndex(ValueLayout.JAVA_FLOAT, oo + k,
                            Math.fma(sa.getAtIndex(ValueLayout.JAVA_FLOAT, ao + k), sc, sh));
                }
            } else {
                for (long k = s; k < e; k++) {
                    double v = HostElements.getFloat(sa, dt, ao + k) * scale + shift;
                    if (dt.isFloating()) {
                        HostElements.setFloat(so, dt, oo + k, (float) v);
                    } else {
                        HostElements.setLong(so, dt, oo + k, (long) v);
                    }
                }
            }
        });
    }

    @Override
    public void sumTo(Tensor src, Tensor dst) {
        MemorySegment ss = src.storage().segment();
        MemorySegment ds = dst.storage().segment();
        DType dt = src.dtype();
        long[] shape = src.shape();
        int r = shape.length;
        long[] dShape = dst.shape();
        // dst strides seen from src's index space: 0 on reduced and padded dims.
        long[] dStr = dev.panomni.tensor.Shapes.broadcastStrides(dShape, dev.panomni.tensor.Shapes.contiguousStrides(dShape), shape);
        long n = dst.numel();
        double[] acc = new double[Math.toIntExact(n)];
        long[] sStr = src.strides();
        StridedWalk.walk(shape, sStr, src.offset(), dStr, 0, 0, src.numel(), (o, oa, ob, len) -> {
            long inner = r == 0 ? 0 : dStr[r - 1];
            for (long k = 0; k < len; k++) {
                acc[(int) (ob + k * inner)] += HostElements.getFloat(ss, dt, oa + k);
            }
        });
        for (int i = 0; i < acc.length; i++) {
            HostElements.setFloat(ds, dt, dst.offset() + i, (float) acc[i]);
        }
    }
}
