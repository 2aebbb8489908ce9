package dev.toygpt.io;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/** The real disk: fsync on close and after renames. */
final class DiskStorage implements Storage {
    static final DiskStorage INSTANCE = new DiskStorage();
    static volatile Storage current = INSTANCE;

    /**
     * Test hook for the kill tests only: wait this many milliseconds before each rename, which widens the
     * moments in which a checkpoint is half written so that a SIGKILL lands there often. Unset: no wait.
     */
    static final long RENAME_DELAY_MS = parseDelay(System.getenv("TOYGPT_TEST_RENAME_DELAY_MS"));

    private DiskStorage() {}

    @Override
    public OutputStream open(Path file, boolean append) throws IOException {
        FileChannel ch = append
                ? FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.APPEND)
                : FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
        return new FilterOutputStream(new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16)) {
            private boolean closed;

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len); // FilterOutputStream would write byte by byte
            }

            @Override
            public void close() throws IOException {
                if (closed) return;
                closed = true;
                try (ch) {
                    out.flush();
                    ch.force(true);
                }
            }
        };
    }

    @Override
    public void rename(Path source, Path target) throws IOException {
        if (RENAME_DELAY_MS > 0) {
            try {
                Thread.sleep(RENAME_DELAY_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
        syncDirectory(target.toAbsolutePath().getParent());
    }

    @Override
    public Path createTempDirectory(Path dir, String prefix) throws IOException {
        Path tmp = Files.createTempDirectory(dir, prefix);
        if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) { // temp directories start private
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return tmp;
    }

    @Override
    public void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Some systems (Windows, some network filesystems) cannot open or flush a directory; the rename
            // is still atomic there, only its durability across a power cut is up to the filesystem.
        }
    }

    @Override
    public void delete(Path file) throws IOException {
        Files.deleteIfExists(file);
    }

    private static long parseDelay(String value) {
        try {
            return value == null ? 0 : Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
