package dev.panomni.tensor.autograd;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Layout;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Arrays;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The backward engine. Ops record a {@link Node} per call when grad mode is on and an input
 * requires a gradient; {@link #backward} walks the recorded nodes from the loss in reverse
 * topological order, sums gradients that meet at a tensor, accumulates into leaves' {@code grad},
 * and releases each node's saved tensors and incoming gradients as soon as the node has run.
 */
public final class Autograd {
    private Autograd() {
    }

    /** Whether an op with these inputs must record a node. */
    public static boolean needsRecord(Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    /** Attaches {@code node} as the producer of {@code outputs} (in the node's output order). */
    public static void record(Node node, Tensor... outputs) {
        if (outputs.length != node.outputCount()) {
            throw new IllegalStateException(node.op() + ": recorded " + outputs.length + " outputs, node declares "
                    + node.outputCount());
        }
        node.describeOutputs(outputs);
        for (int i = 0; i < outputs.length; i++) {
            outputs[i].attachGradFn(node, i);
        }
    }

    /**
     * Back-propagates from {@code root}. {@code seed} is the gradient of root (null means 1 for a
     * one-element root). Leaves' gradients are accumulated (added to an existing {@code grad}).
     */
    public static void backward(Tensor root, Tensor seed) {
        root.checkLive();
        if (!root.requiresGrad()) {
            throw new TensorOpException("backward", "tensor " + root.describe() + " does not require grad: no input "
                    + "of the ops that made it requires grad, or it was made in no-grad mode");
        }
        if (seed == null && root.numel() != 1) {
            throw new TensorOpException("backward", "implicit gradient needs a one-element tensor, got "
                    + Shapes.str(root.shape()) + "; pass a seed gradient");
        }
        if (seed != null && !Arrays.equals(seed.shape(), root.shape())) {
            throw new TensorOpException("backward", "seed shape " + Shapes.str(seed.shape()) + " does not match "
                    + Shapes.str(root.shape()));
        }
        boolean prev = GradMode.set(false);
        Scope held = Scope.detached("backward");
        try (Scope work = Scope.open("backward")) {
            Tensor s0 = seed != null ? seed.alias()
                    : Tensor.ones(root.dtype(), root.device(), root.shape());
            if (root.isLeaf()) {
                accumulateLeaf(root, s0);
                return;
            }
            List<Node> order = topologicalOrder(root.gradFn());
            Map<Node, Tensor[]> pending = new IdentityHashMap<>();
            Tensor[] first = new Tensor[root.gradFn().outputCount()];
            first[root.outputIndex()] = s0.unownedAlias();
            pending.put(root.gradFn(), first);
            for (Node node : order) {
                Tensor[] grads = pending.remove(node);
                if (grads == null) {
                    continue;
                }
                Tensor[] inputGrads;
                try (Scope step = Scope.open(node.op() + "Backward")) {
                    for (int i = 0; i < grads.length; i++) {
                        if (grads[i] == null) {
                            grads[i] = Tensor.zeros(node.outputDtype(i), node.outputDevice(), node.outputShape(i))
                                    .unownedAlias();
                        }
                    }
                    Tensor[] raw = node.runBackward(grads);
                    if (raw.length != node.inputCount()) {
                        throw new IllegalStateException(node.op() + " backward returned " + raw.length
                                + " gradients for " + node.inputCount() + " inputs");
                    }
                    inputGrads = new Tensor[raw.length];
                    for (int i = 0; i < raw.length; i++) {
                        if (raw[i] != null && node.needsGrad(i)) {
                            inputGrads[i] = raw[i].unownedAlias();
                        }
                    }
                } finally {
                    for (Tensor g : grads) {
                        if (g != null) {
                            g.close();
                        }
                    }
                    node.releaseSaved();
                }
                for (int i = 0; i < inputGrads.length; i++) {
                    Tensor g = inputGrads[i];
                    if (g == null) {
                        continue;
                    }
                    Tensor in = node.input(i);
                    if (!Arrays.equals(g.shape(), in.shape())) {
                        g.close();
                        throw new IllegalStateException(node.op() + " backward produced a gradient of shape "
                                + Shapes.str(g.shape()) + " for input " + i + " of shape " + Shapes.str(in.shape()));
                    }
                    if (in.isLeaf()) {
                        accumulateLeaf(in, g);
                        g.close();
                    } else {
                        Tensor[] slot = pending.computeIfAbsent(in.gradFn(), n -> new Tensor[n.outputCount()]);
                        int k = in.outputIndex();
                        if (slot[k] == null) {
                            slot[k] = g;
                        } else {
                            Tensor sum = Arith.add(slot[k], g).unownedAlias();
                            slot[k].close();
                            g.close();
                            slot[k] = sum;
                        }
                    }
                }
            }
            for (Tensor[] left : pending.values()) {
                for (Tensor t : left) {
                    if (t != null) {
                        t.close();
                    }
                }
            }
        } finally {
            held.close();
            GradMode.set(prev);
        }
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        if (!leaf.requiresGrad()) {
            return;
        }
        Tensor existing = leaf.grad();
        if (existing == null || existing.isReleased()) {
            Scope target = leaf.owner() != null ? leaf.owner() : Scope.current();
            Tensor copy = Layout.cast(g, leaf.dtype());
            // cast returns a new handle; make sure it owns fresh memory, never memory a gradient shares.
            Tensor fresh = copy.isContiguous() && copy.dtype() != g.dtype() ? copy : Layout.copy(copy);
            fresh.moveTo(target);
            leaf.setGrad(fresh);
        } else {
            Arith.addInPlace(existing, g);
        }
    }

    private static List<Node> topologicalOrder(Node root) {
        // Iterative DFS post-order, reversed: every node comes before the nodes that produced its inputs.
        List<Node> post = new ArrayList<>();
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        seen.add(root);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Node n = (Node) frame[0];
            int i = (Integer) frame[1];
            if (i < n.inputCount()) {
                frame[1] = i + 1;
                Tensor in = n.input(i);
                if (in != null && in.requiresGrad() && in.gradFn() != null && seen.add(in.gradFn())) {
                    stack.push(new Object[] {in.gradFn(), 0});
                }
            } else {
                stack.pop();
                post.add(n);
            }
        }
        Collections.reverse(post);
        return post;
    }
}
