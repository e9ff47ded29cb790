package dev.panomni.tensor;

import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.ops.Views;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An n-dimensional view of a {@link Storage}: shape, strides and offset in elements, a dtype and a
 * device. Views (transpose, narrow, reshape, expand, ...) are new tensors over the same storage.
 *
 * <p>A tensor is a handle owned by a {@link Scope}; closing the scope (or the tensor) releases the
 * handle, and using a released tensor throws {@link ReleasedTensorException}. The storage is freed
 * when its last handle and autograd record let go.
 *
 * <p>Ops live in small families under {@code dev.panomni.tensor.ops} (for example
 * {@link Arith#add}); the instance methods here are shorthands for the most common ones.
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final long[] shape;
    private final long[] strides;
    private final long offset;
    private final DType dtype;
    private Scope owner;
    private volatile boolean released;
    private String releasedBy;

    private boolean requiresGrad;
    private Tensor grad;
    private Node gradFn;
    private int outputIndex;
    private String name;

    private Tensor(Storage storage, long[] shape, long[] strides, long offset, DType dtype, Scope owner) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.dtype = dtype;
        this.owner = owner;
        if (owner != null) {
            owner.adopt(this);
        }
    }

    // ---------------------------------------------------------------- creation

    /**
     * A view of {@code storage}, taking over one reference the caller already holds, owned by the
     * current scope. Backends and ops use this to wrap memory they allocated.
     */
    public static Tensor wrap(Storage storage, DType dtype, long[] shape, long[] strides, long offset) {
        return new Tensor(storage, shape.clone(), strides.clone(), offset, dtype, Scope.current());
    }

    /** Uninitialized contiguous tensor. */
    public static Tensor empty(DType dtype, Device device, long... shape) {
        for (long d : shape) {
            if (d < 0) {
                throw new TensorOpException("empty", "negative extent in shape " + Shapes.str(shape));
            }
        }
        long bytes = Math.max(1, Shapes.numel(shape)) * dtype.byteSize();
        Storage s = Backends.forDevice(device).allocate(device, bytes);
        return new Tensor(s, shape.clone(), Shapes.contiguousStrides(shape), 0, dtype, Scope.current());
    }

    /** Uninitialized F32 tensor on the host. */
    public static Tensor empty(long... shape) {
        return empty(DType.F32, Device.CPU, shape);
    }

    /** Tensor filled with {@code value}. */
    public static Tensor full(DType dtype, Device device, double value, long... shape) {
        Tensor t = empty(dtype, device, shape);
        Layout.fill(t, value);
        return t;
    }

    public static Tensor zeros(DType dtype, Device device, long... shape) {
        return full(dtype, device, 0.0, shape);
    }

    /** F32 zeros on the host. */
    public static Tensor zeros(long... shape) {
        return zeros(DType.F32, Device.CPU, shape);
    }

    public static Tensor ones(DType dtype, Device device, long... shape) {
        return full(dtype, device, 1.0, shape);
    }

    /** F32 ones on the host. */
    public static Tensor ones(long... shape) {
        return ones(DType.F32, Device.CPU, shape);
    }

    /** A zero-dimensional F32 tensor on the host. */
    public static Tensor scalar(double value) {
        return full(DType.F32, Device.CPU, value);
    }

    /** An F32 host tensor holding {@code data} in row-major order. */
    public static Tensor of(float[] data, long... shape) {
        checkCount("of", data.length, shape);
        Tensor t = empty(DType.F32, Device.CPU, shape);
        MemorySegment.copy(data, 0, t.storage.segment(), ValueLayout.JAVA_FLOAT, 0, data.length);
        return t;
    }

    /** An I64 host tensor holding {@code data}. */
    public static Tensor ofLongs(long[] data, long... shape) {
        checkCount("ofLongs", data.length, shape);
        Tensor t = empty(DType.I64, Device.CPU, shape);
        MemorySegment.copy(data, 0, t.storage.segment(), ValueLayout.JAVA_LONG, 0, data.length);
        return t;
    }

    /** An I32 host tensor holding {@code data}. */
    public static Tensor ofInts(int[] data, long... shape) {
        checkCount("ofInts", data.length, shape);
        Tensor t = empty(DType.I32, Device.CPU, shape);
        MemorySegment.copy(data, 0, t.storage.segment(), ValueLayout.JAVA_INT, 0, data.length);
        return t;
    }

    /** A BOOL host tensor holding {@code data}. */
    public static Tensor ofBooleans(boolean[] data, long... shape) {
        checkCount("ofBooleans", data.length, shape);
        Tensor t = empty(DType.BOOL, Device.CPU, shape);
        MemorySegment seg = t.storage.segment();
        for (int i = 0; i < data.length; i++) {
            seg.set(ValueLayout.JAVA_BYTE, i, (byte) (data[i] ? 1 : 0));
        }
        return t;
    }

    /** I64 tensor [n] holding 0, 1, ..., n-1 on the host. */
    public static Tensor arange(long n) {
        long[] v = new long[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return ofLongs(v, n);
    }

    private static void checkCount(String op, int count, long[] shape) {
        long n = Shapes.numel(shape);
        if (n != count) {
            throw new TensorOpException(op, count + " values do not fill shape " + Shapes.str(shape) + " (" + n + " elements)");
        }
    }

    // ---------------------------------------------------------------- metadata

    public long[] shape() {
        return shape.clone();
    }

    /** Extent of dim {@code d} (negative counts from the end). */
    public long size(int d) {
        return shape[Shapes.dim("size", d, shape.length)];
    }

    /** Strides in elements. */
    public long[] strides() {
        return strides.clone();
    }

    public long stride(int d) {
        return strides[Shapes.dim("stride", d, shape.length)];
    }

    /** Offset of element [0, ..., 0] from the storage start, in elements. */
    public long offset() {
        return offset;
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return storage.device();
    }

    public Backend backend() {
        return Backends.forDevice(storage.device());
    }

    /** The storage, checking that this handle is live. */
    public Storage storage() {
        checkLive();
        return storage;
    }

    /** Row-major with no gaps (broadcast or transposed views are not). */
    public boolean isContiguous() {
        if (numel() == 0) {
            return true;
        }
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /**
     * For host tensors: the segment starting at element [0, ..., 0]; spans to the storage's end.
     * Contiguous tensors hold their {@link #numel()} elements at its start.
     */
    public MemorySegment data() {
        checkLive();
        return storage.segment().asSlice(offset * dtype.byteSize());
    }

    /** Byte offset of element [0, ..., 0] within the storage. */
    public long byteOffset() {
        return offset * dtype.byteSize();
    }

    /** Optional debugging name (parameters carry their dotted name). */
    public String name() {
        return name;
    }

    public Tensor setName(String name) {
        this.name = name;
        return this;
    }

    // ---------------------------------------------------------------- lifetime

    /** The owning scope, or null for handles held by autograd records. */
    public Scope owner() {
        return owner;
    }

    public boolean isReleased() {
        return released;
    }

    /** Throws {@link ReleasedTensorException} when this handle was released. */
    public void checkLive() {
        if (released) {
            throw new ReleasedTensorException("tensor " + describe() + " was released (" + releasedBy
                    + "); keep it with Scope.keep(t) or create it in a longer-lived scope");
        }
    }

    /** Hands ownership to {@code scope}. */
    public Tensor moveTo(Scope scope) {
        checkLive();
        if (owner == scope) {
            return this;
        }
        if (owner != null) {
            owner.disown(this);
        }
        owner = scope;
        if (scope != null) {
            scope.adopt(this);
        }
        return this;
    }

    /** Releases this handle now instead of at scope close. Idempotent. */
    @Override
    public void close() {
        if (released) {
            return;
        }
        if (owner != null) {
            owner.disown(this);
        }
        release("closed explicitly");
    }

    void releaseFromScope(Scope scope) {
        if (!released) {
            release("its scope '" + scope.name() + "' closed");
        }
    }

    private synchronized void release(String why) {
        if (released) {
            return;
        }
        released = true;
        releasedBy = why;
        owner = null;
        if (grad != null) {
            grad.close();
            grad = null;
        }
        storage.release();
    }

    /** A new handle to the same elements, owned by the current scope, without autograd history. */
    public Tensor alias() {
        checkLive();
        storage.retain();
        return new Tensor(storage, shape, strides, offset, dtype, Scope.current());
    }

    /**
     * A new handle to the same elements owned by no scope: for autograd records and engines that
     * release it themselves with {@link #close()}.
     */
    public Tensor unownedAlias() {
        checkLive();
        storage.retain();
        return new Tensor(storage, shape, strides, offset, dtype, null);
    }

    /** A view with other shape/strides/offset over the same storage, owned by the current scope. */
    public Tensor restrided(long[] newShape, long[] newStrides, long newOffset) {
        checkLive();
        storage.retain();
        return new Tensor(storage, newShape.clone(), newStrides.clone(), newOffset, dtype, Scope.current());
    }

    // ---------------------------------------------------------------- autograd

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf as needing a gradient. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null) {
            throw new IllegalStateException("requiresGrad can only be set on leaves; " + describe()
                    + " was produced by " + gradFn.op() + " (use detach() first)");
        }
        if (value && !dtype.isFloating()) {
            throw new TensorOpException("requiresGrad", "only floating tensors can require gradients, got " + dtype);
        }
        this.requiresGrad = value;
        return this;
    }

    /** The accumulated gradient of a leaf, or null. */
    public Tensor grad() {
        return grad;
    }

    /** Replaces the gradient (optimizers and gradient sharding use this); the old one is released. */
    public void setGrad(Tensor g) {
        if (grad != null && grad != g) {
            grad.close();
        }
        grad = g;
    }

    /** The op record that produced this tensor, or null for leaves and tensors made without grad. */
    public Node gradFn() {
        return gradFn;
    }

    /** Which output of {@link #gradFn()} this tensor is. */
    public int outputIndex() {
        return outputIndex;
    }

    /** Attaches the op record that produced this tensor (called by ops while recording). */
    public void attachGradFn(Node node, int index) {
        this.gradFn = node;
        this.outputIndex = index;
        this.requiresGrad = true;
    }

    public boolean isLeaf() {
        return gradFn == null;
    }

    /** Back-propagates from this scalar, accumulating into the leaves' {@link #grad()}. */
    public void backward() {
        Autograd.backward(this, null);
    }

    /** Back-propagates with upstream gradient {@code seed} of this tensor's shape. */
    public void backward(Tensor seed) {
        Autograd.backward(this, seed);
    }

    /** A view with no autograd history. */
    public Tensor detach() {
        return alias();
    }

    // ---------------------------------------------------------------- views and common ops

    public Tensor view(long... newShape) {
        return Views.view(this, newShape);
    }

    public Tensor reshape(long... newShape) {
        return Views.reshape(this, newShape);
    }

    public Tensor transpose(int d0, int d1) {
        return Views.transpose(this, d0, d1);
    }

    /** Transpose of the last two dims. */
    public Tensor t() {
        return Views.transpose(this, -2, -1);
    }

    public Tensor permute(int... dims) {
        return Views.permute(this, dims);
    }

    public Tensor narrow(int dim, long start, long length) {
        return Views.narrow(this, dim, start, length);
    }

    /** Elements {@code start, start+step, ...} below {@code end} along {@code dim}. */
    public Tensor slice(int dim, long start, long end, long step) {
        return Views.slice(this, dim, start, end, step);
    }

    public Tensor expand(long... newShape) {
        return Views.expand(this, newShape);
    }

    public Tensor squeeze(int dim) {
        return Views.squeeze(this, dim);
    }

    public Tensor unsqueeze(int dim) {
        return Views.unsqueeze(this, dim);
    }

    /** This tensor if already contiguous (as a new handle), else a contiguous copy. */
    public Tensor contiguous() {
        return Views.contiguous(this);
    }

    /** A copy in {@code target} dtype (a new handle when already of that dtype). */
    public Tensor to(DType target) {
        return Layout.cast(this, target);
    }

    /** A copy on {@code target} (a new handle when already there). */
    public Tensor to(Device target) {
        return Layout.toDevice(this, target);
    }

    public Tensor add(Tensor other) {
        return Arith.add(this, other);
    }

    public Tensor sub(Tensor other) {
        return Arith.sub(this, other);
    }

    public Tensor mul(Tensor other) {
        return Arith.mul(this, other);
    }

    public Tensor div(Tensor other) {
        return Arith.div(this, other);
    }

    public Tensor mul(double s) {
        return Arith.mulScalar(this, s);
    }

    public Tensor add(double s) {
        return Arith.addScalar(this, s);
    }

    /** {@link dev.panomni.tensor.ops.Linalg#matmul}: [..., M, K] x [..., K, N] -> [..., M, N]. */
    public Tensor matmul(Tensor other) {
        return dev.panomni.tensor.ops.Linalg.matmul(this, other);
    }

    /** Sum of all elements, 0-dim. */
    public Tensor sum() {
        return dev.panomni.tensor.ops.Reductions.sumAll(this);
    }

    /** Mean of all elements, 0-dim. */
    public Tensor mean() {
        return dev.panomni.tensor.ops.Reductions.meanAll(this);
    }

    /** Softmax along {@code dim}. */
    public Tensor softmax(int dim) {
        return dev.panomni.tensor.ops.Softmax.softmax(this, dim);
    }

    // ---------------------------------------------------------------- reading values

    /** All elements as floats in row-major order (copies from the device when needed). */
    public float[] toFloatArray() {
        try (Scope s = Scope.open("toFloatArray")) {
            Tensor host = GradMode.noGrad(() -> Layout.cast(Layout.toDevice(this, Device.CPU), DType.F32).contiguous());
            float[] out = new float[Math.toIntExact(numel())];
            MemorySegment.copy(host.data(), ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
            return out;
        }
    }

    /** All elements as longs (integral or bool tensors; floats truncate). */
    public long[] toLongArray() {
        try (Scope s = Scope.open("toLongArray")) {
            Tensor host = GradMode.noGrad(() -> Layout.cast(Layout.toDevice(this, Device.CPU), DType.I64).contiguous());
            long[] out = new long[Math.toIntExact(numel())];
            MemorySegment.copy(host.data(), ValueLayout.JAVA_LONG, 0, out, 0, out.length);
            return out;
        }
    }

    /** The single element of a one-element tensor. */
    public float item() {
        if (numel() != 1) {
            throw new TensorOpException("item", "needs a one-element tensor, got shape " + Shapes.str(shape));
        }
        return toFloatArray()[0];
    }

    /** One element of a host tensor by index (negative indices are not allowed). */
    public float getFloat(long... index) {
        checkLive();
        if (device().type() != Device.Type.CPU) {
            throw new TensorOpException("getFloat", "tensor is on " + device() + "; copy it with to(Device.CPU) first");
        }
        if (index.length != shape.length) {
            throw new TensorOpException("getFloat", "index of rank " + index.length + " for shape " + Shapes.str(shape));
        }
        long e = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new TensorOpException("getFloat", "index " + Arrays.toString(index) + " out of bounds for shape "
                        + Shapes.str(shape));
            }
            e += index[i] * strides[i];
        }
        return HostElements.getFloat(storage.segment(), dtype, e);
    }

    /** "[2, 3] F32 cpu" plus the name when set. */
    public String describe() {
        return (name != null ? "'" + name + "' " : "") + Shapes.str(shape) + " " + dtype + " " + storage.device();
    }

    @Override
    public String toString() {
        if (released) {
            return "Tensor(" + describe() + ", released)";
        }
        if (numel() > 64) {
            return "Tensor(" + describe() + ")";
        }
        return "Tensor(" + describe() + ", " + Arrays.toString(toFloatArray()) + ")";
    }
}
