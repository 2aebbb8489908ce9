package dev.toygpt.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The disk without fsync, for the fuzz properties that rewrite files thousands of times: flushing to the
 * platter is what they do not test, and it would make them a hundred times slower.
 */
public final class UnsyncedStorage implements Storage {
    @Override
    public OutputStream open(Path file, boolean append) throws IOException {
        return new BufferedOutputStream(append
                ? Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND)
                : Files.newOutputStream(file, StandardOpenOption.CREATE_NEW));
    }

    @Override
    public void rename(Path source, Path target) throws IOException {
        Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public Path createTempDirectory(Path dir, String prefix) throws IOException {
        return Files.createTempDirectory(dir, prefix);
    }

    @Override
    public void syncDirectory(Path dir) {
    }

    @Override
    public void delete(Path file) throws IOException {
        Files.deleteIfExists(file);
    }
}
