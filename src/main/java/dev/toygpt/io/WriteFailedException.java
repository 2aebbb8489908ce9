package dev.toygpt.io;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;

/** Writing a file failed (disk full, read-only, removed directory...): which file, and the system's reason. */
public final class WriteFailedException extends IOException {
    private final Path file;

    public WriteFailedException(Path file, IOException cause) {
        super(file + ": " + reason(cause), cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** The operating system's words ("No space left on device"), without the path Java sometimes adds. */
    public String reason() {
        return reason((IOException) getCause());
    }

    static String reason(IOException e) {
        if (e instanceof WriteFailedException w) return w.reason();
        String r = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
        if (r == null || r.isBlank()) {
            r = e instanceof java.nio.file.AccessDeniedException ? "permission denied" : e.getClass().getSimpleName();
        }
        return r;
    }
}
