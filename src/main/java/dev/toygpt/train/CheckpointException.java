package dev.toygpt.train;

/** A checkpoint that is missing, incomplete, corrupt, or does not fit its configuration. */
public final class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
