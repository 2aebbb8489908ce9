package dev.toygpt.cli;

/** Bad input from the user: printed as "error: message", exit code 2. */
public final class UserInputException extends RuntimeException {
    public UserInputException(String message) {
        super(message);
    }
}
