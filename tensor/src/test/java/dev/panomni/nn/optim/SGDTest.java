package dev.panomni.nn.optim;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.panomni.nn.optim.AdamWTest.assertClose;
import static dev.panomni.nn.optim.AdamWTest.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SGDTest {
    /** Float64 reference of torch.optim.SGD for three steps. */
    static double[] reference(float[] init, float[][] grads, double lr, double momentum, double dampening,
                              double wd, boolean nesterov) {
        double[] p = new double[init.length];
        double[] buf = new double[init.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = init[i];
        }
        for (int t = 0; t < grads.length; t++) {
            for (int i = 0; i < p.length; i++) {
                double g = grads[t][i] + wd * p[i];
                double d = g;
                if (momentum != 0) {
                    buf[i] = t == 0 ? g : momentum * buf[i] + (1 - dampening) * g;
                    d = nesterov ? g + momentum * buf[i] : buf[i];
                }
                p[i] -= lr * d;
            }
        }
        return p;
    }

    void check(double momentum, double dampening, double wd, boolean nesterov) {
        Random rng = new Random(5);
        try (Scope s = Scope.open("t")) {
            float[] init = random(rng, 53, 1);
            float[][] grads = {random(rng, 53, 1), random(rng, 53, 1), random(rng, 53, 1)};
            Tensor p = Tensor.of(init, 53).requiresGrad(true);
            try (SGD opt = new SGD(List.of(ParamGroup.of(Map.of("p", p), 0.1, wd)), momentum, dampening, nesterov)) {
                for (float[] g : grads) {
                    p.setGrad(Tensor.of(g, 53));
                    opt.step();
                }
                double[] expected = reference(init, grads, 0.1, momentum, dampening, wd, nesterov);
                assertClose(expected, p.toFloatArray(), 2e-6, "momentum=" + momentum + " dampening=" + dampening
                        + " wd=" + wd + " nesterov=" + nesterov);
                assertEquals(momentum != 0, opt.stateOf("p").containsKey(SGD.MOMENTUM_BUFFER));
            }
        }
    }

    @Test
    void plain() {
        check(0, 0, 0, false);
    }

    @Test
    void momentumWithWeightDecay() {
        check(0.9, 0, 0.01, false);
    }

    @Test
    void momentumWithDampening() {
        check(0.9, 0.3, 0, false);
    }

    @Test
    void nesterov() {
        check(0.8, 0, 0.05, true);
    }

    @Test
    void nesterovNeedsMomentumWithoutDampening() {
        try (Scope s = Scope.open("t")) {
            Tensor p = Tensor.zeros(2).requiresGrad(true);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new SGD(List.of(ParamGroup.of(Map.of("p", p), 0.1, 0)), 0.9, 0.1, true));
            assertTrue(e.getMessage().contains("Nesterov"), e.getMessage());
        }
    }
}
