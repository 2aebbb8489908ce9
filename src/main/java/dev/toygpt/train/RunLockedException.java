package dev.toygpt.train;

/** Another run holds the run directory's lock: bad input (exit 2), the message names the holder. */
public final class RunLockedException extends RuntimeException {
    public RunLockedException(String message) {
        super(message);
    }
}
