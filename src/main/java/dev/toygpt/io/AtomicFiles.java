package dev.toygpt.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that readers see either the old content or the complete new content, never a part:
 * the bytes go to a temporary file in the same directory, are flushed to disk (fsync), the file is renamed
 * over the target in one step, and the directory is flushed so the rename itself is on disk. On failure
 * the temporary file is removed and the target is untouched.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    @FunctionalInterface
    public interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /** @throws WriteFailedException naming target when the bytes cannot be written, flushed or renamed */
    public static void write(Path target, Writer writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Storage storage = Storage.current();
        Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
        try {
            Files.createDirectories(dir);
            try (OutputStream out = storage.open(tmp, false)) {
                writer.write(out);
            }
            storage.rename(tmp, target);
        } catch (IOException | RuntimeException e) {
            try {
                storage.delete(tmp);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            if (e instanceof IOException io && !(e instanceof WriteFailedException)) throw new WriteFailedException(target, io);
            throw e;
        }
    }

    public static void writeString(Path target, String text) throws IOException {
        write(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }
}
