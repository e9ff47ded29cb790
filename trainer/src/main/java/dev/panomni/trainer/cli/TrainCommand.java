package dev.panomni.trainer.cli;

import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.trainer.Trainer;
import dev.panomni.trainer.TrainerOptions;
import dev.panomni.trainer.TrainingResult;
import dev.panomni.trainer.config.ConfigException;
import dev.panomni.trainer.config.ConfigLoader;
import dev.panomni.trainer.config.ConfigOverride;
import dev.panomni.trainer.config.ParallelConfig;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.demo.DemoJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code panomni train}: runs a training job. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a model from a YAML config. Without --config: the built-in demonstration job (a tiny "
                + "decoder learns to count on a generated dataset, on the CPU in a minute or two).",
                "Any config key can be overridden as --section.key=value, e.g. --train.steps=400.",
                "A run resumes automatically from the latest checkpoint in checkpoint.dir; Ctrl-C saves one."},
        footer = {"", "Exit codes: 0 done (the demo: its loss fell below its threshold), 1 training failed or the "
                + "demo missed its threshold, 2 invalid configuration, 130 interrupted (checkpoint saved).",
                "", "Examples:", "  panomni train", "  panomni train --train.steps=400 --train.lr=1e-3",
                "  panomni train --config examples/tiny-qwen3.yaml", "  panomni train --config run.yaml --resume",
                "  panomni train --config run.yaml --resume-from runs/x/checkpoints/step-000500"})
public final class TrainCommand implements Callable<Integer> {
    @Mixin
    final ConfigOptions options = new ConfigOptions();

    @Option(names = "--resume", description = "resume from the latest checkpoint in checkpoint.dir, and fail if there "
            + "is none (without it a run still resumes when one exists, per checkpoint.resume: auto)")
    boolean resume;

    @Option(names = "--resume-from", paramLabel = "DIR", description = "resume from this checkpoint (a step-NNNNNN "
            + "folder, or a checkpoint folder whose latest is taken)")
    Path resumeFrom;

    @Unmatched
    List<String> overrides = new ArrayList<>();

    PrintStream out = System.out;
    PrintStream err = System.err;
    TrainerOptions trainerOptions = TrainerOptions.defaults();

    @Override
    public Integer call() {
        TrainerOptions opts = trainerOptions.withStreams(out, err).withRequireResume(resume || resumeFrom != null);
        List<ConfigOverride> parsed;
        RunConfig config;
        try {
            parsed = ConfigOverride.parse(overrides);
            if (resumeFrom != null || resume) {
                List<ConfigOverride> all = new ArrayList<>(parsed);
                all.add(resumeFrom != null
                        ? new ConfigOverride("checkpoint.resume", quoted(resumeFrom.toString()), "--resume-from " + resumeFrom)
                        : new ConfigOverride("checkpoint.resume", "auto", "--resume"));
                parsed = all;
            }
            if (options.config == null) {
                config = DemoJob.config(parsed);
            } else {
                config = ConfigLoader.load(options.config, parsed);
            }
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 2;
        }
        String multiRank = multiRankRefusal(config.parallel(), LaunchEnv.current());
        if (multiRank != null) {
            err.println(multiRank);
            return 2;
        }
        try {
            if (options.config == null) {
                DemoJob.Outcome o = DemoJob.run(parsed, opts);
                return exitCode(o.result(), o.passed());
            }
            Path base = options.config.toAbsolutePath().getParent();
            RunConfig withData = DemoJob.withGeneratedData(config, out);
            TrainingResult r = new Trainer(withData, opts.withBaseDir(base)).run();
            for (TrainingResult.Sample s : r.samples()) {
                out.println("sample: " + s.prompt() + " -> " + s.completion());
            }
            return exitCode(r, true);
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("panomni train: " + e.getMessage());
            if (System.getenv("PANOMNI_DEBUG") != null) {
                e.printStackTrace(err);
            } else {
                err.println("(set PANOMNI_DEBUG=1 for the stack trace)");
            }
            return 1;
        }
    }

    /**
     * Why this run must not start, or null. {@code panomni train} trains one process on one device;
     * the parallel engine is not wired into it yet. A config asking for a mesh, or a launch of
     * several ranks, would otherwise train the whole job once per rank with no gradient exchange,
     * silently: it is refused, saying what works.
     */
    static String multiRankRefusal(ParallelConfig p, LaunchEnv env) {
        if (p.meshSize() > 1 || p.ep() > 1) {
            return "parallel: dp_replicate=" + p.dpReplicate() + " x dp_shard=" + p.dpShard() + " x sp=" + p.sp()
                    + " (ep=" + p.ep() + ") asks for " + p.meshSize() + " ranks, but `panomni train` trains one process "
                    + "on one device: the parallel engine (FSDP/HSDP, expert and sequence parallel) is not wired into "
                    + "`panomni train` yet. Set the degrees to 1 (--parallel.dp_shard=1 --parallel.dp_replicate=1 "
                    + "--parallel.sp=1 --parallel.ep=1) to train on one device; multi-GPU training runs through "
                    + "dev.panomni.parallel.engine.ParallelModel (bench: ScalingRunner).";
        }
        if (env.worldSize() > 1) {
            return "panomni train was launched as rank " + env.rank() + " of " + env.worldSize() + ", but it trains "
                    + "one process on one device (the parallel engine is not wired into it yet): every rank would "
                    + "train the whole job on its own. Run it without `panomni launch` (or with --nproc-per-node 1).";
        }
        return null;
    }

    private static int exitCode(TrainingResult r, boolean passed) {
        return switch (r.status()) {
            case COMPLETED -> passed ? 0 : 1;
            case INTERRUPTED -> 130;
            case STOPPED -> 1;
        };
    }

    /** A path as a YAML string value (so that ':' or '#' in it stay part of it). */
    private static String quoted(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
