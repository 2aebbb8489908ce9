package dev.toygpt.io;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.function.Predicate;

/**
 * The disk, until a chosen file has received a chosen number of bytes: then that write fails as a full disk
 * ("No space left on device") or a disk that turned read-only does (from then on every write, rename,
 * new directory and deletion fails). Root ignores file permissions, so this is how the tests stage it.
 */
public final class FailingStorage implements Storage {
    private final Storage disk = Storage.disk();
    private final Predicate<String> target;
    private final boolean readOnly;
    private long bytesLeft;
    private boolean failed;
    private boolean broken;
    private String failedFile;

    private FailingStorage(Predicate<String> target, long bytes, boolean readOnly) {
        this.target = target;
        this.bytesLeft = bytes;
        this.readOnly = readOnly;
    }

    /** Fails writing the first file whose name contains nameContains once it holds bytes bytes. */
    public static FailingStorage diskFullIn(String nameContains, long bytes) {
        return new FailingStorage(n -> n.contains(nameContains), bytes, false);
    }

    /** Like {@link #diskFullIn}, but the whole disk becomes read-only at that moment. */
    public static FailingStorage readOnlyFrom(String nameContains, long bytes) {
        return new FailingStorage(n -> n.contains(nameContains), bytes, true);
    }

    /** Whether the failure happened, and in which file. */
    public synchronized String failedFile() {
        return failed ? failedFile : null;
    }

    private synchronized void checkWritable(Path p) throws IOException {
        if (broken) throw new FileSystemException(p.toString(), null, "Read-only file system");
    }

    private synchronized IOException fail(Path file) {
        failed = true;
        failedFile = file.getFileName().toString();
        if (readOnly) {
            broken = true;
            return new FileSystemException(file.toString(), null, "Read-only file system");
        }
        return new IOException("No space left on device");
    }

    @Override
    public OutputStream open(Path file, boolean append) throws IOException {
        checkWritable(file);
        OutputStream real = disk.open(file, append);
        boolean counted;
        synchronized (this) {
            counted = !failed && target.test(file.getFileName().toString());
        }
        if (!counted) return real;
        return new FilterOutputStream(real) {
            @Override
            public void write(int b) throws IOException {
                write(new byte[]{(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                int fits;
                synchronized (FailingStorage.this) {
                    fits = (int) Math.min(len, bytesLeft);
                    bytesLeft -= fits;
                }
                out.write(b, off, fits);
                if (fits < len) {
                    out.flush(); // what fitted is on disk, as on a real full disk
                    throw fail(file);
                }
            }

            @Override
            public void close() throws IOException {
                out.close();
            }
        };
    }

    @Override
    public void rename(Path source, Path target) throws IOException {
        checkWritable(target);
        disk.rename(source, target);
    }

    @Override
    public Path createTempDirectory(Path dir, String prefix) throws IOException {
        checkWritable(dir);
        return disk.createTempDirectory(dir, prefix);
    }

    @Override
    public void syncDirectory(Path dir) throws IOException {
        disk.syncDirectory(dir);
    }

    @Override
    public void delete(Path file) throws IOException {
        checkWritable(file);
        disk.delete(file);
    }
}
