package dev.panomni.bench.cuda;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaEvent;
import dev.panomni.kernels.runtime.CudaRuntime;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Times GPU work with CUDA events on the compute stream (device time, not host time): each sample
 * brackets {@code reps} runs of the work, and the figures reported are medians over samples, as
 * bench/scripts/torch_reference.py reports PyTorch's.
 */
final class EventTimer implements AutoCloseable {
    private final CudaDevice device;
    private final CudaEvent start;
    private final CudaEvent end;
    private final List<Double> millisPerRun = new ArrayList<>();

    EventTimer(CudaDevice device) {
        this.device = device;
        this.start = device.newEvent(true);
        this.end = device.newEvent(true);
    }

    /** Device 0, or a clear failure when there is none: these benchmarks need a GPU. */
    static CudaDevice gpu() {
        if (!CudaRuntime.isAvailable()) {
            throw new IllegalStateException("this benchmark needs a CUDA GPU: " + CudaRuntime.unavailableReason());
        }
        return CudaRuntime.device(0);
    }

    /** Runs {@code work} {@code reps} times between two events; records and returns milliseconds per run. */
    double sample(int reps, Runnable work) {
        start.record(device.computeStream());
        for (int i = 0; i < reps; i++) {
            work.run();
        }
        end.record(device.computeStream());
        end.synchronize();
        double ms = end.elapsedMillis(start) / (double) reps;
        millisPerRun.add(ms);
        return ms;
    }

    /** Forgets the samples so far (after warm-up). */
    void reset() {
        millisPerRun.clear();
    }

    /** The median of the recorded milliseconds per run. */
    double medianMillis() {
        List<Double> sorted = new ArrayList<>(millisPerRun);
        sorted.sort(null);
        int n = sorted.size();
        if (n == 0) {
            return Double.NaN;
        }
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    int samples() {
        return millisPerRun.size();
    }

    /** Prints one result line, picked up by bench/RESULTS.md. */
    void report(String what, String unit, double perRunAmount) {
        double ms = medianMillis();
        System.out.printf(Locale.ROOT, "%n[cuda-events] %s on %s: median %.4f ms/run over %d samples = %.1f %s%n", what,
                device.name(), ms, samples(), perRunAmount / (ms * 1e-3), unit);
    }

    @Override
    public void close() {
        start.close();
        end.close();
    }
}
