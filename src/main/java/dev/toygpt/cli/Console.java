package dev.toygpt.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** UTF-8 streams for text and messages, whatever the platform's default encoding. */
final class Console {
    static final PrintStream STDOUT = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    static final PrintStream STDERR = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);

    private Console() {}

    /** True when a person is watching: then progress is drawn as a bar, otherwise as occasional lines. */
    static boolean interactive() {
        return System.console() != null && System.getenv("CI") == null;
    }
}
