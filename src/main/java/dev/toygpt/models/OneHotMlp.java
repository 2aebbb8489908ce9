package dev.toygpt.models;

import dev.toygpt.autograd.F;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.nn.Linear;
import dev.toygpt.util.Rng;

/** A bigram model as a small network: one-hot(token) -> Linear(V, hidden) -> LeakyReLU -> Linear(hidden, V). */
public final class OneHotMlp extends LanguageModel {
    private final Linear fc1;
    private final Linear fc2;

    public OneHotMlp(ModelConfig config, Rng rng) {
        super(config);
        int v = config.vocabSize();
        fc1 = addModule("fc1", new Linear(v, config.hidden(), true, rng));
        fc2 = addModule("fc2", new Linear(config.hidden(), v, true, rng));
    }

    @Override
    public Tensor forward(int[] idx, int batch, int time) {
        int v = config().vocabSize();
        Tensor x = F.reshape(F.oneHot(idx, v), batch, time, v);
        Tensor h = F.leakyRelu(fc1.forward(x), 0.01f);
        return fc2.forward(h);
    }
}
