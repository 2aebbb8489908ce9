package dev.toygpt.io;

/**
 * Saving failed for a reason outside the program (the disk is full, the directory became read-only...).
 * The message says what was being saved, where, what survived and what to do; the command line prints it
 * without a stack trace and exits with {@code 3}.
 */
public final class SaveFailedException extends RuntimeException {
    public SaveFailedException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The same failure with advice added to the message (e.g. the command that continues the run). */
    public SaveFailedException withAdvice(String advice) {
        SaveFailedException e = new SaveFailedException(getMessage() + "\n" + advice, getCause());
        e.setStackTrace(getStackTrace());
        return e;
    }
}
