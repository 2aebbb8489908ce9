package dev.toygpt.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Runs the command line in this JVM and captures what it printed. */
final class Cli {
    private Cli() {}

    /** Exit code, stdout and stderr of one command. */
    record Result(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err;
        }
    }

    static Result run(String... args) {
        return runWithInput("", args);
    }

    static Result runWithInput(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream realOut = Console.out(), realErr = Console.err();
        InputStream realIn = Console.in();
        InputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        Console.redirect(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), in);
        int code;
        try {
            code = Main.run(args);
        } finally {
            Console.redirect(realOut, realErr, realIn);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs a command that must succeed. */
    static Result ok(String... args) {
        Result r = run(args);
        if (r.exitCode() != 0) throw new AssertionError("toygpt " + String.join(" ", args) + " failed:\n" + r);
        return r;
    }

    /**
     * The options of a tiny GPT run (n_embd 16, 2 heads, 1 layer, block size 8, batch 4, dropout 0.1);
     * extra options replace these defaults or are added.
     */
    static List<String> tinyGpt(Path data, Path out, int maxIters, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", "gpt", "--data", data.toString(), "--out", out.toString(),
                "--n-embd", "16", "--n-head", "2", "--n-layer", "1", "--block-size", "8", "--batch-size", "4",
                "--max-iters", Integer.toString(maxIters), "--eval-interval", "10", "--eval-iters", "10", "--lr", "3e-3",
                "--dropout", "0.1", "--seed", "7", "--sample-tokens", "40"));
        for (int i = 0; i < extra.length; i++) {
            int at = args.indexOf(extra[i]);
            boolean hasValue = i + 1 < extra.length && !extra[i + 1].startsWith("--");
            if (at >= 0) {
                if (hasValue) args.set(at + 1, extra[++i]);
            } else {
                args.add(extra[i]);
                if (hasValue) args.add(extra[++i]);
            }
        }
        return args;
    }

    /** Trains a tiny GPT with the train command, which must succeed. */
    static Result trainTiny(Path data, Path out, int maxIters, String... extra) {
        return ok(tinyGpt(data, out, maxIters, extra).toArray(String[]::new));
    }

    /** The number of code points in s. */
    static int length(String s) {
        return s.codePointCount(0, s.length());
    }
}
