package dev.toygpt.sample;

/**
 * How the next character is chosen from the model's logits.
 *
 * <p>The constructor validates, so an invalid combination can never reach the sampler; the messages name
 * the command-line options because they are shown to the user as they are.
 *
 * @param temperature divides the logits before softmax: below 1 sharpens the distribution, above 1 flattens it;
 *                    must be finite and &gt; 0
 * @param topK        keep only the {@code topK} largest logits; {@code 0} turns the filter off
 * @param topP        nucleus sampling: keep the smallest set of most likely tokens whose probability adds up to
 *                    at least {@code topP}; must be in (0, 1], {@code 1} turns the filter off
 * @param greedy      always take the most likely token (argmax); the other settings are then not used
 */
public record SamplingSettings(float temperature, int topK, float topP, boolean greedy) {

    public SamplingSettings {
        validate(temperature, topK, topP);
    }

    /** Plain multinomial sampling from softmax(logits): temperature 1, no top-k, no top-p, not greedy. */
    public static SamplingSettings defaults() {
        return new SamplingSettings(1f, 0, 1f, false);
    }

    /** Re-checks the settings; always passes for a constructed instance, kept for callers that want it explicit. */
    public SamplingSettings validate() {
        validate(temperature, topK, topP);
        return this;
    }

    /** True if the top-k filter is on. */
    public boolean usesTopK() {
        return topK > 0;
    }

    /** True if the top-p (nucleus) filter is on. */
    public boolean usesTopP() {
        return topP < 1f;
    }

    private static void validate(float temperature, int topK, float topP) {
        // Written as !(x > 0) so that NaN is rejected too.
        if (!(temperature > 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be a finite number > 0 (got " + temperature
                    + "); for deterministic output use --greedy instead of a zero temperature");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k must be at least 1 (got " + topK
                    + "); leave --top-k out to keep all tokens");
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("--top-p must be in the range (0, 1] (got " + topP
                    + "); use 1 to keep all tokens");
        }
    }
}
