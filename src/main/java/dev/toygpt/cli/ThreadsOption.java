package dev.toygpt.cli;

import dev.toygpt.kernels.Parallel;

final class ThreadsOption {
    private ThreadsOption() {}

    static void apply(int threads) {
        if (threads < 1) throw new UserInputException("--threads must be at least 1, got " + threads);
        Parallel.setThreads(threads);
    }
}
