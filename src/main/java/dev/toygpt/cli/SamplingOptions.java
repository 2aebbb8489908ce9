package dev.toygpt.cli;

import dev.toygpt.sample.SamplingSettings;
import picocli.CommandLine.Option;

/** The options that choose how the next character is picked, shared by sample and chat. */
final class SamplingOptions {
    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0",
            description = "divide the logits by T: below 1 is more conservative, above 1 more adventurous (default ${DEFAULT-VALUE})")
    float temperature;
    @Option(names = "--top-k", paramLabel = "K", description = "sample only from the K most likely characters")
    Integer topK;
    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0",
            description = "sample only from the most likely characters whose probabilities add up to P, in (0, 1] (default ${DEFAULT-VALUE})")
    float topP;
    @Option(names = "--greedy", description = "always take the most likely character (deterministic)")
    boolean greedy;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "1337", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    SamplingSettings settings() {
        if (topK != null && topK < 1) throw new UserInputException("--top-k must be at least 1, got " + topK);
        try {
            return new SamplingSettings(temperature, topK == null ? 0 : topK, topP, greedy);
        } catch (IllegalArgumentException e) {
            throw new UserInputException(e.getMessage());
        }
    }
}
