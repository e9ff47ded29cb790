package dev.panomni.nn;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTest {
    /** y = x * weight + bias, elementwise over the last dim. */
    static final class Scale extends Module {
        Scale(long dim, Generator gen, boolean bias) {
            registerParameter("weight", gen.normal(new long[] {dim}, 0, 1));
            if (bias) {
                registerParameter("bias", gen.normal(new long[] {dim}, 0, 1));
            }
        }

        Tensor forward(Tensor x) {
            Tensor y = Arith.mul(x, param("weight"));
            Tensor b = paramOrNull("bias");
            return b == null ? y : Arith.add(y, b);
        }
    }

    static final class Block extends Module {
        final Scale first;
        final Scale second;

        Block(long dim, Generator gen) {
            first = registerModule("first", new Scale(dim, gen, true));
            second = registerModule("second", new Scale(dim, gen, false));
            registerBuffer("counter", Tensor.zeros(DType.I64, dev.panomni.tensor.Device.CPU, 1));
            registerBuffer("cache", Tensor.zeros(dim), false);
        }

        Tensor forward(Tensor x) {
            return second.forward(first.forward(x));
        }
    }

    static final class Net extends Module {
        final ModuleList<Block> layers;

        Net(int depth, long dim, long seed) {
            Generator gen = new Generator(seed);
            registerParameter("embed", gen.normal(new long[] {3, dim}, 0, 1));
            layers = registerModule("layers", new ModuleList<>());
            for (int i = 0; i < depth; i++) {
                layers.add(new Block(dim, gen));
            }
        }

        Tensor forward(Tensor x) {
            for (Block b : layers) {
                x = b.forward(x);
            }
            return x;
        }
    }

    @Test
    void namesAreDottedDeterministicAndSetOnTensors() {
        try (Net net = new Net(2, 5, 1)) {
            List<String> expected = List.of("embed", "layers.0.first.weight", "layers.0.first.bias",
                    "layers.0.second.weight", "layers.1.first.weight", "layers.1.first.bias",
                    "layers.1.second.weight");
            assertEquals(expected, List.copyOf(net.namedParameters().keySet()));
            net.namedParameters().forEach((k, v) -> {
                assertEquals(k, v.name());
                assertTrue(v.requiresGrad());
                assertTrue(v.isLeaf());
            });
            assertEquals(List.of("layers.0.counter", "layers.0.cache", "layers.1.counter", "layers.1.cache"),
                    List.copyOf(net.namedBuffers().keySet()));
            // PyTorch's order: each module's parameters, then its buffers, then its children.
            assertEquals(List.of("embed", "layers.0.counter", "layers.0.first.weight", "layers.0.first.bias",
                    "layers.0.second.weight", "layers.1.counter", "layers.1.first.weight", "layers.1.first.bias",
                    "layers.1.second.weight"), List.copyOf(net.stateDict().keySet()));
            assertEquals(15 + 6 * 5, net.parameterCount());
            assertSame(net.layers.get(1).first, net.module("layers.1.first"));
            assertEquals(List.of("", "layers", "layers.0", "layers.0.first", "layers.0.second", "layers.1",
                    "layers.1.first", "layers.1.second"), List.copyOf(net.namedModules().keySet()));
        }
    }

    @Test
    void registrationRejectsBadNames() {
        try (Net net = new Net(1, 3, 1)) {
            Block block = net.layers.get(0);
            try (Scale extra = new Scale(3, new Generator(0), false)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> block.registerModule("first", extra));
                assertTrue(e.getMessage().contains("'first' is already registered"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> extra.registerParameter("a.b", Tensor.zeros(3)));
                assertTrue(e.getMessage().contains("'a.b' must be non-empty and contain no '.'"), e.getMessage());
            }
        }
    }

    @Test
    void stateDictRoundTripCopiesValues() {
        try (Net a = new Net(2, 7, 11); Net b = new Net(2, 7, 12)) {
            Map<String, Tensor> sa = a.stateDict();
            assertFalse(java.util.Arrays.equals(sa.get("layers.1.first.bias").toFloatArray(),
                    b.stateDict().get("layers.1.first.bias").toFloatArray()));
            Module.LoadResult r = b.loadStateDict(sa, true);
            assertTrue(r.missingKeys().isEmpty() && r.unexpectedKeys().isEmpty());
            for (Map.Entry<String, Tensor> e : b.stateDict().entrySet()) {
                assertArrayEquals(sa.get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), e.getKey());
                assertFalse(e.getValue() == sa.get(e.getKey()), "values are copied, not shared");
            }
        }
    }

    @Test
    void loadStateDictListsMissingUnexpectedAndShapeMismatches() {
        try (Net small = new Net(1, 4, 1); Net big = new Net(2, 5, 2); Scope s = Scope.open("t")) {
            Map<String, Tensor> sd = new LinkedHashMap<>(small.stateDict());
            sd.put("layers.0.extra", Tensor.zeros(2));
            float[] before = big.stateDict().get("embed").toFloatArray();
            StateDictException e = assertThrows(StateDictException.class, () -> big.loadStateDict(sd, true));
            String msg = e.getMessage();
            assertTrue(msg.contains("missing keys (4)"), msg);
            assertTrue(msg.contains("layers.1.first.weight"), msg);
            assertTrue(msg.contains("unexpected keys (1): layers.0.extra"), msg);
            assertTrue(msg.contains("embed: checkpoint shape [3, 4], model shape [3, 5]"), msg);
            assertTrue(msg.contains("layers.0.first.bias: checkpoint shape [4], model shape [5]"), msg);
            assertEquals(List.of("layers.1.counter", "layers.1.first.weight", "layers.1.first.bias",
                    "layers.1.second.weight"), e.missingKeys());
            assertEquals(List.of("layers.0.extra"), e.unexpectedKeys());
            assertEquals(4, e.mismatches().size());
            assertArrayEquals(before, big.stateDict().get("embed").toFloatArray(), "a failed load changes nothing");
        }
    }

    @Test
    void nonStrictLoadReportsSkippedKeysButStillRejectsShapes() {
        try (Net one = new Net(1, 4, 1); Net two = new Net(2, 4, 2); Scope s = Scope.open("t")) {
            Map<String, Tensor> sd = new LinkedHashMap<>(one.stateDict());
            sd.put("lm_head.weight", Tensor.zeros(2, 2));
            Module.LoadResult r = two.loadStateDict(sd, false);
            assertEquals(4, r.missingKeys().size());
            assertEquals(List.of("lm_head.weight"), r.unexpectedKeys());
            assertArrayEquals(one.stateDict().get("layers.0.first.weight").toFloatArray(),
                    two.stateDict().get("layers.0.first.weight").toFloatArray());
            sd.put("embed", Tensor.zeros(4));
            StateDictException e = assertThrows(StateDictException.class, () -> two.loadStateDict(sd, false));
            assertTrue(e.getMessage().contains("embed: checkpoint shape [4], model shape [3, 4]"), e.getMessage());
        }
    }

    @Test
    void loadConvertsFloatingDtypesAndRejectsIntegerIntoFloat() {
        try (Net a = new Net(1, 4, 1); Net b = new Net(1, 4, 2); Scope s = Scope.open("t")) {
            Map<String, Tensor> bf = new LinkedHashMap<>();
            a.stateDict().forEach((k, v) -> bf.put(k, v.dtype().isFloating() ? v.to(DType.BF16) : v));
            b.loadStateDict(bf, true);
            assertArrayEquals(bf.get("embed").toFloatArray(), b.stateDict().get("embed").toFloatArray());
            assertEquals(DType.F32, b.stateDict().get("embed").dtype());
            bf.put("embed", Tensor.zeros(DType.I32, dev.panomni.tensor.Device.CPU, 3, 4));
            StateDictException e = assertThrows(StateDictException.class, () -> b.loadStateDict(bf, true));
            assertTrue(e.getMessage().contains("embed: checkpoint dtype I32 cannot be converted to model dtype F32"),
                    e.getMessage());
        }
    }

    @Test
    void parametersAndGradientsOutliveStepScopes() {
        try (Net net = new Net(2, 6, 3)) {
            Tensor w = net.namedParameters().get("layers.0.first.weight");
            for (int step = 0; step < 2; step++) {
                try (Scope s = Scope.open("step")) {
                    Tensor x = Tensor.ones(2, 6);
                    Tensor y = net.forward(x);
                    y.backward(Tensor.ones(2, 6));
                }
                assertNotNull(w.grad());
                assertFalse(w.grad().isReleased());
            }
            float[] g2 = w.grad().toFloatArray();
            net.zeroGrad();
            assertNull(w.grad());
            try (Scope s = Scope.open("step")) {
                net.forward(Tensor.ones(2, 6)).backward(Tensor.ones(2, 6));
            }
            float[] g1 = w.grad().toFloatArray();
            for (int i = 0; i < g1.length; i++) {
                assertEquals(2 * g1[i], g2[i], 1e-5f * Math.max(1, Math.abs(g2[i])), "two steps accumulate");
            }
        }
    }

    @Test
    void trainEvalAndClose() {
        Net net = new Net(2, 3, 1);
        assertTrue(net.isTraining());
        net.eval();
        assertFalse(net.layers.get(1).second.isTraining());
        net.train();
        assertTrue(net.layers.get(0).first.isTraining());
        List<Tensor> params = net.parameters();
        Tensor counter = net.namedBuffers().get("layers.1.counter");
        net.close();
        for (Tensor p : params) {
            assertTrue(p.isReleased());
        }
        assertTrue(counter.isReleased());
        assertTrue(net.isClosed());
    }

    static final class Tied extends Module {
        final Scale a;
        final Scale b;

        Tied() {
            a = registerModule("a", new Scale(4, new Generator(5), false));
            b = registerModule("b", new Scale(4, new Generator(6), false));
            b.replaceParameter("weight", a.param("weight"));
        }
    }

    @Test
    void toDtypeConvertsKeepsNamesAndTies() {
        try (Net net = new Net(1, 5, 4)) {
            float[] before = net.namedParameters().get("embed").toFloatArray();
            Tensor old = net.namedParameters().get("embed");
            net.to(DType.BF16);
            Tensor p = net.namedParameters().get("embed");
            assertEquals(DType.BF16, p.dtype());
            assertEquals("embed", p.name());
            assertTrue(p.requiresGrad() && p.isLeaf());
            assertTrue(old.isReleased());
            assertEquals(DType.I64, net.namedBuffers().get("layers.0.counter").dtype());
            assertEquals(DType.BF16, net.namedBuffers().get("layers.0.cache").dtype());
            float[] after = p.toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertEquals(before[i], after[i], Math.abs(before[i]) / 128);
            }
            try (Scope s = Scope.open("fwd")) {
                Tensor y = net.forward(Tensor.ones(DType.BF16, dev.panomni.tensor.Device.CPU, 5));
                assertEquals(DType.BF16, y.dtype());
            }
        }
        try (Tied t = new Tied()) {
            assertEquals(List.of("a.weight"), List.copyOf(t.namedParameters().keySet()));
            assertEquals(List.of("a.weight", "b.weight"), List.copyOf(t.stateDict().keySet()));
            t.to(DType.BF16);
            assertSame(t.a.param("weight"), t.b.param("weight"));
            assertEquals(DType.BF16, t.b.param("weight").dtype());
        }
    }

    static final class Rotating extends Module {
        Rotating() {
            registerParameter("weight", Tensor.ones(DType.F32, dev.panomni.tensor.Device.CPU, 3));
            registerFixedDtypeBuffer("freq", Tensor.of(new float[] {1f / 3, 1e-4f}, 2), false);
        }
    }

    @Test
    void fixedDtypeBuffersStayF32WhenTheModuleConvertsToBf16() {
        try (Rotating m = new Rotating()) {
            m.to(DType.BF16);
            assertEquals(DType.BF16, m.namedParameters().get("weight").dtype());
            Tensor freq = m.namedBuffers().get("freq");
            assertEquals(DType.F32, freq.dtype());
            assertEquals(1f / 3, freq.toFloatArray()[0], "exact F32 value, not a BF16 rounding");
            assertTrue(m.stateDict().isEmpty() || !m.stateDict().containsKey("freq"), "transient");
        }
    }
}
