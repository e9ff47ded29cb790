package dev.panomni.modalities.text.model;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Joining;

/**
 * Keys and values of the tokens generated so far, per layer ([t, Hkv, D] each, after RoPE), so a
 * decoding step attends to the past without recomputing it. Owns its tensors: close it when the
 * generation ends.
 */
public final class KvCache implements AutoCloseable {
    private final Tensor[] keys;
    private final Tensor[] values;
    private final Scope scope = Scope.detached("kv-cache");

    public KvCache(int layers) {
        keys = new Tensor[layers];
        values = new Tensor[layers];
    }

    /** Tokens cached so far. */
    public long length() {
        return keys[0] == null ? 0 : keys[0].size(0);
    }

    /** Appends new k, v [n, Hkv, D] of layer {@code i}; returns the full cached [t, Hkv, D] pair. */
    Tensor[] append(int i, Tensor k, Tensor v) {
        Tensor nk = keys[i] == null ? k.contiguous() : Joining.concat(new Tensor[] {keys[i], k}, 0);
        Tensor nv = values[i] == null ? v.contiguous() : Joining.concat(new Tensor[] {values[i], v}, 0);
        if (keys[i] != null) {
            keys[i].close();
            values[i].close();
        }
        keys[i] = nk.moveTo(scope);
        values[i] = nv.moveTo(scope);
        return new Tensor[] {keys[i], values[i]};
    }

    @Override
    public void close() {
        scope.close();
    }
}
