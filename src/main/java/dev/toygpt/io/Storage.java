package dev.toygpt.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;

/**
 * The file-writing layer: every file a run saves (checkpoints, checkpoints.json, metrics.csv, charts) goes
 * through the current Storage. {@link #disk()} is the real one; tests swap in one that fails like a full
 * or read-only disk, which cannot be staged with file permissions when the tests run as root.
 */
public interface Storage {
    /**
     * Opens a file for writing: a new file (append false: it must not exist yet) or the end of an existing
     * or new one (append true). Closing the stream flushes the bytes to the disk itself (fsync).
     */
    OutputStream open(Path file, boolean append) throws IOException;

    /**
     * Renames source to target in one step, replacing target, and flushes the directory so the new name
     * survives a power cut.
     */
    void rename(Path source, Path target) throws IOException;

    /** Creates a new directory in dir whose name starts with prefix, readable by all. */
    Path createTempDirectory(Path dir, String prefix) throws IOException;

    /** Flushes a directory's entries (names added, renamed or removed) to disk. */
    void syncDirectory(Path dir) throws IOException;

    /** Deletes a file or an empty directory if it exists. */
    void delete(Path file) throws IOException;

    /** The storage in use: the disk, unless a test installed another. */
    static Storage current() {
        return DiskStorage.current;
    }

    static Storage disk() {
        return DiskStorage.INSTANCE;
    }

    /** Uses storage for every write until the returned handle is closed (tests). */
    static AutoCloseable use(Storage storage) {
        Storage before = DiskStorage.current;
        DiskStorage.current = storage;
        return () -> DiskStorage.current = before;
    }
}
