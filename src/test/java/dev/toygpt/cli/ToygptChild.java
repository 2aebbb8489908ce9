package dev.toygpt.cli;

import dev.toygpt.kernels.MatMul;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** A {@code toygpt} command in a separate JVM, for tests that send it a real Ctrl-C (SIGINT). */
final class ToygptChild implements AutoCloseable {
    private final Process process;
    final Path stdout;
    final Path stderr;

    /**
     * Starts the command. The child runs the kernels this JVM runs (SIMD, or the portable loops of the
     * portable-kernels execution) at this JVM's vector width (the 256-bit execution caps it): the kinds and
     * widths round differently, so a run continued with another one differs.
     */
    ToygptChild(Path dir, List<String> args) throws IOException {
        this(dir, "child", java.util.Map.of(), args);
    }

    /** A child whose output goes to dir/NAME.out and dir/NAME.err, with extra environment variables. */
    ToygptChild(Path dir, String name, java.util.Map<String, String> env, List<String> args) throws IOException {
        stdout = dir.resolve(name + ".out");
        stderr = dir.resolve(name + ".err");
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "-Dtoygpt.simd=" + MatMul.SIMD, "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(1, vectorWidthOptions());
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
        builder.environment().putAll(env);
        process = builder.start();
    }

    /** This JVM's options that choose the SIMD kernels' vector width, such as -XX:MaxVectorSize=32. */
    static List<String> vectorWidthOptions() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("-XX:MaxVectorSize=") || a.startsWith("-XX:UseAVX=")).toList();
    }

    static boolean canSignal() {
        return Files.isExecutable(Path.of("/bin/kill")) || Files.isExecutable(Path.of("/usr/bin/kill"));
    }

    /** Waits until stderr contains text; fails if the child exits first or the time runs out. */
    void awaitStderr(String text, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!err().contains(text)) {
            if (!process.isAlive()) fail("the child exited early with " + process.exitValue() + ":\n" + err());
            if (System.nanoTime() > deadline) fail("no '" + text + "' after " + seconds + " s:\n" + err());
            Thread.sleep(10);
        }
    }

    /** Sends SIGINT, as Ctrl-C does, and returns the exit code. */
    int interrupt() throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -INT failed");
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the child did not exit after SIGINT:\n" + err());
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    /** Sends a signal by name (STOP, CONT...) with kill(1). */
    void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -" + name + " failed");
    }

    /** SIGKILL (kill -9): the process ends at once, with no chance to save or clean up. */
    void kill9() throws InterruptedException {
        process.destroyForcibly(); // SIGKILL on Linux and macOS
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the child did not die");
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the child to exit and returns its exit code. */
    int waitFor(int seconds) throws InterruptedException, IOException {
        assertTrue(process.waitFor(seconds, TimeUnit.SECONDS), "the child did not exit in " + seconds + " s:\n" + err());
        return process.exitValue();
    }

    String out() throws IOException {
        return read(stdout);
    }

    String err() throws IOException {
        return read(stderr);
    }

    @Override
    public void close() {
        if (process.isAlive()) process.destroyForcibly();
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    }
}
