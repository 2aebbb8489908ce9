package dev.toygpt.tour;

import dev.toygpt.models.ModelConfig;

import java.util.List;

/**
 * Step 9: the GPT of the seed preset on this vocabulary, and where its parameters are.
 *
 * @param preset         the preset's name
 * @param config         its sizes, with this text's vocabulary
 * @param parameterCount the model's own count
 * @param groups         its state_dict entries grouped by layer, in model order
 */
public record GptStep(String preset, ModelConfig config, long parameterCount, List<Group> groups) {
    /** One layer: e.g. "blocks.0.ffwd" and its tensors. */
    public record Group(String name, List<Part> parts) {
        public long count() {
            long n = 0;
            for (Part p : parts) n += p.size();
            return n;
        }
    }

    /** One state_dict entry, named relative to its group. */
    public record Part(String name, int[] shape, int size) {}

    /** Sum over the table: must equal parameterCount. */
    public long tableTotal() {
        long n = 0;
        for (Group g : groups) n += g.count();
        return n;
    }
}
