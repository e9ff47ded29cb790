package dev.panomni.trainer.cli;

import dev.panomni.parallel.comm.CollectiveException;
import dev.panomni.parallel.comm.Communicator;
import dev.panomni.parallel.comm.Communicators;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.parallel.comm.Work;
import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

/**
 * {@code panomni comm-check} (hidden): a diagnostic for launched jobs. Every rank joins the world
 * communicator its device calls for ({@link Communicators#fromEnvironment}), runs each collective
 * once on values whose result it knows, and prints one line per check; exit status 0 when all agree.
 * {@code panomni launch --nproc-per-node N -- comm-check} is the quickest way to see that ranks,
 * rendezvous and the backend work together on a machine.
 */
@Command(name = "comm-check", hidden = true, mixinStandardHelpOptions = true,
        description = {"Diagnostic: run every collective once over the launched world and check the results.",
                "Use under panomni launch: panomni launch --nproc-per-node 2 -- comm-check"})
public final class CommCheckCommand implements Callable<Integer> {
    @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE",
            description = "auto (cuda:LOCAL_RANK when CUDA and NCCL are usable, else cpu), cpu, cuda or cuda:N")
    String device;

    @Option(names = "--elements", defaultValue = "4099", paramLabel = "N",
            description = "elements of the all-reduce buffer (default ${DEFAULT-VALUE})")
    int elements;

    @Option(names = "--fail-rank", defaultValue = "-1", paramLabel = "R",
            description = "test hook: rank R exits with status 3 once the world is up (the others are left waiting)")
    int failRank;

    @Option(names = "--delay-rank", defaultValue = "-1", paramLabel = "R",
            description = "test hook: rank R sleeps --delay seconds before joining")
    int delayRank;

    @Option(names = "--delay", defaultValue = "0", paramLabel = "SECONDS", description = "see --delay-rank")
    double delay;

    @Spec
    CommandSpec spec;

    private PrintWriter out;
    private int checks;
    private int failed;

    @Override
    public Integer call() throws InterruptedException {
        out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        LaunchEnv env = LaunchEnv.current();
        Device dev = switch (device.toLowerCase(Locale.ROOT)) {
            case "auto" -> Communicators.defaultDevice(env);
            case "cuda" -> Device.cuda(env.localRank());
            default -> Device.parse(device);
        };
        if (env.rank() == delayRank && delay > 0) {
            Thread.sleep(Math.round(delay * 1000));
        }
        try (Scope scope = Scope.open("comm-check"); Communicator c = Communicators.fromEnvironment(env, dev)) {
            out.printf(Locale.ROOT, "rank %d of %d on %s through %s%n", c.rank(), c.size(), dev,
                    c.getClass().getSimpleName());
            out.flush();
            if (env.rank() == failRank) {
                err.println("rank " + env.rank() + ": exiting with status 3 as asked (--fail-rank)");
                err.flush();
                return 3;
            }
            run(c, dev);
        } catch (CollectiveException e) {
            err.println("comm-check: rank " + env.rank() + ": " + e.getMessage());
            err.flush();
            return 1;
        }
        out.println(failed == 0 ? "comm-check: ok (" + checks + " checks)"
                : "comm-check: FAILED (" + failed + " of " + checks + " checks)");
        out.flush();
        return failed == 0 ? 0 : 1;
    }

    private void run(Communicator c, Device dev) {
        int n = c.size();
        int r = c.rank();
        float tri = n * (n + 1) / 2f;

        Tensor sum = on(dev, Tensor.full(DType.F32, Device.CPU, r + 1, elements));
        c.allReduce(sum, ReduceOp.SUM).await();
        check("allReduce(sum, F32)", sum.toFloatArray(), filled(elements, tri));

        Tensor avg = on(dev, Tensor.full(DType.F32, Device.CPU, r + 1, 7));
        c.allReduce(avg, ReduceOp.AVG).await();
        check("allReduce(avg, F32)", avg.toFloatArray(), filled(7, (n + 1) / 2f));

        Tensor max = on(dev, Tensor.ofLongs(new long[] {r * 10L, -r, 1L << 40}, 3));
        c.allReduce(max, ReduceOp.MAX).await();
        check("allReduce(max, I64)", toFloats(max.toLongArray()), new float[] {(n - 1) * 10f, 0, 1L << 40});

        Tensor gathered = Tensor.empty(DType.F32, dev, 3L * n);
        c.allGather(on(dev, Tensor.full(DType.F32, Device.CPU, r, 3)), gathered).await();
        float[] g = new float[3 * n];
        for (int i = 0; i < g.length; i++) {
            g[i] = i / 3;
        }
        check("allGather", gathered.toFloatArray(), g);

        float[] blocks = new float[2 * n];
        for (int j = 0; j < n; j++) {
            blocks[2 * j] = blocks[2 * j + 1] = (r + 1) * (j + 1);
        }
        Tensor part = Tensor.empty(DType.F32, dev, 2);
        c.reduceScatter(on(dev, Tensor.of(blocks, 2L * n)), part, ReduceOp.SUM).await();
        check("reduceScatter(sum)", part.toFloatArray(), filled(2, (r + 1) * tri));

        Tensor b = on(dev, Tensor.full(DType.F32, Device.CPU, r, 5));
        c.broadcast(b, n - 1).await();
        check("broadcast from rank " + (n - 1), b.toFloatArray(), filled(5, n - 1));

        // Uneven all-to-all: rank s sends d + 1 rows (width 2, value 100 s + d) to rank d.
        long[] send = IntStream.range(0, n).mapToLong(d -> d + 1).toArray();
        long[] recv = new long[n];
        Arrays.fill(recv, r + 1);
        float[] rows = new float[n * (n + 1)];
        int k = 0;
        for (int d = 0; d < n; d++) {
            for (int row = 0; row <= d; row++) {
                rows[k++] = 100 * r + d;
                rows[k++] = 100 * r + d;
            }
        }
        Tensor got = Tensor.empty(DType.F32, dev, (long) n * (r + 1), 2);
        c.allToAll(on(dev, Tensor.of(rows, n * (n + 1) / 2, 2)), send, got, recv).await();
        float[] want = new float[2 * n * (r + 1)];
        k = 0;
        for (int s = 0; s < n; s++) {
            for (int row = 0; row <= r; row++) {
                want[k++] = 100 * s + r;
                want[k++] = 100 * s + r;
            }
        }
        check("allToAll (uneven splits)", got.toFloatArray(), want);

        Tensor in = Tensor.empty(DType.F32, dev, 4);
        Work s = c.send(on(dev, Tensor.full(DType.F32, Device.CPU, r, 4)), (r + 1) % n);
        Work v = c.recv(in, (r + n - 1) % n);
        s.await();
        v.await();
        check("send/recv ring", in.toFloatArray(), filled(4, (r + n - 1) % n));

        int[] parity = IntStream.range(0, n).filter(i -> i % 2 == r % 2).toArray();
        try (Communicator sub = c.subGroup(parity)) {
            Tensor x = on(dev, Tensor.full(DType.F32, Device.CPU, r + 1, 3));
            sub.allReduce(x, ReduceOp.SUM).await();
            float expected = (float) Arrays.stream(parity).map(i -> i + 1).sum();
            check("subGroup " + Arrays.toString(parity) + " allReduce", x.toFloatArray(), filled(3, expected));
        }
        c.barrier();
        check("barrier", new float[0], new float[0]);
    }

    private static Tensor on(Device dev, Tensor host) {
        return dev.type() == Device.Type.CPU ? host : host.to(dev);
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    private static float[] toFloats(long[] l) {
        float[] f = new float[l.length];
        for (int i = 0; i < l.length; i++) {
            f[i] = l[i];
        }
        return f;
    }

    private void check(String what, float[] got, float[] want) {
        checks++;
        for (int i = 0; i < want.length; i++) {
            if (i >= got.length || got[i] != want[i]) {
                failed++;
                out.printf(Locale.ROOT, "%-30s FAILED: element %d is %s, expected %s%n", what, i,
                        i < got.length ? got[i] : "missing", want[i]);
                out.flush();
                return;
            }
        }
        out.printf(Locale.ROOT, "%-30s ok%s%n", what, want.length == 0 ? "" : " (" + summary(want) + ")");
        out.flush();
    }

    private static String summary(float[] v) {
        float first = v[0];
        for (float x : v) {
            if (x != first) {
                return v.length + " values, first " + first;
            }
        }
        return v.length + " x " + first;
    }
}
