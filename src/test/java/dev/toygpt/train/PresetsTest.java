package dev.toygpt.train;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelKind;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The GPT presets have the course's sizes: on Tiny Shakespeare's 65 characters, the lecture model has 10.8M parameters. */
class PresetsTest {
    private static final int SHAKESPEARE_VOCAB = 65;

    static LanguageModel build(Presets.Preset p, int vocabSize) {
        ModelConfig m = p.model();
        ModelConfig config = new ModelConfig(m.kind(), vocabSize, m.nEmbd(), m.nHead(), m.nLayer(), m.blockSize(), m.dropout(), m.hidden());
        return LanguageModel.create(config, new Rng(1337));
    }

    @ParameterizedTest(name = "{0}: {1} parameters")
    @CsvSource({"seed, 209729", "baby, 816705", "lecture, 10788929"})
    void gptParameterCounts(String preset, long parameters) {
        Presets.Preset p = Presets.gpt(preset);
        assertEquals(ModelKind.GPT, p.model().kind());
        LanguageModel model = build(p, SHAKESPEARE_VOCAB);
        assertEquals(parameters, model.parameterCount());
        assertEquals(parameters, model.stateDict().entries().values().stream().mapToLong(e -> e.size()).sum(),
                "the state_dict holds every parameter exactly once");
        p.train().validate();
    }

    @Test
    void lecturePresetIsTheLecturesModel() {
        Presets.Preset p = Presets.gpt("lecture");
        assertEquals(ModelConfig.gpt(0, 384, 6, 6, 256, 0.2f), p.model());
        assertEquals(64, p.train().batchSize());
        assertEquals(5000, p.train().maxIters());
        assertEquals(3e-4f, p.train().learningRate());
        assertEquals(Presets.gpt("seed"), Presets.defaults(ModelKind.GPT));
    }

    @Test
    void unknownPresetIsRejectedWithTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Presets.gpt("huge"));
        assertEquals("unknown preset 'huge'; choose one of seed, baby, lecture", e.getMessage());
    }
}
