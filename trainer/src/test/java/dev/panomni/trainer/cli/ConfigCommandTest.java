package dev.panomni.trainer.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigCommandTest {
    private record Result(int exit, String out, String err) {
    }

    private static Result run(String... args) {
        ConfigCommand cmd = new ConfigCommand();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        cmd.out = new PrintStream(out, true, StandardCharsets.UTF_8);
        cmd.err = new PrintStream(err, true, StandardCharsets.UTF_8);
        int exit = new CommandLine(cmd).execute(args);
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printShowsTheResolvedConfigWithOverrides() {
        Result r = run("--print", "--train.micro_batch_size=4", "--data.seq_len", "128");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("micro_batch_size: 4"), r.out());
        assertTrue(r.out().contains("seq_len: 128"), r.out());
        assertTrue(r.out().contains("hidden_size: 128"), "presets are expanded: " + r.out());
    }

    @Test
    void problemsExitWithTwoAndAreListed() {
        Result r = run("--print", "--train.stpes=4");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("train.stpes: unknown key; did you mean 'train.steps'?"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void isRegisteredUnderPanomni() {
        CommandLine cl = new CommandLine(new PanomniCommand());
        assertTrue(cl.getSubcommands().containsKey("config"));
    }
}
