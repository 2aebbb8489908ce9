package dev.toygpt.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Where the commands write: generated text to out, messages and progress to err, both UTF-8 whatever the
 * platform's default encoding. Tests swap the streams to read what a command printed.
 */
public final class Console {
    private static PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    private static PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
    private static InputStream in = System.in;

    private Console() {}

    static PrintStream out() {
        return out;
    }

    static PrintStream err() {
        return err;
    }

    static InputStream in() {
        return in;
    }

    /** Sends the commands' output to other streams (for tests and embedding). */
    public static void redirect(PrintStream newOut, PrintStream newErr, InputStream newIn) {
        out = newOut;
        err = newErr;
        in = newIn;
    }

    /** True when a person is watching: then progress is drawn as a bar, otherwise as occasional lines. */
    static boolean interactive() {
        return System.console() != null && System.getenv("CI") == null;
    }
}
