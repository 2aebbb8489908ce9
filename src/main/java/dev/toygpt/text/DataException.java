package dev.toygpt.text;

/**
 * A problem with the user's data or data options (missing file, bad encoding, text too short for the
 * chosen block size, failed download of the default corpus...).
 *
 * <p>It is unchecked and its message is written for the person at the command line: the CLI prints
 * the message alone, without a stack trace, and exits with status 2. So every message says what is
 * wrong, with the offending value (path, byte offset, sizes), and when possible what to do about it.
 */
public class DataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
