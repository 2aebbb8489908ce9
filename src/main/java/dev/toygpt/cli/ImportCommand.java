package dev.toygpt.cli;

import dev.toygpt.io.ModelWeights;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.text.Corpus;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.util.Rng;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "import", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn a PyTorch state_dict saved as safetensors (the notebooks' parameter names) into a ToyGPT checkpoint.",
                "The model and its sizes are read from the tensor names and shapes; the corpus gives the vocabulary.",
                "The GPT's causal-mask buffers (blocks.N.sa.heads.H.tril) may be present or not; if present they must be the causal mask."})
final class ImportCommand implements Callable<Integer> {
    @Option(names = "--weights", paramLabel = "FILE", required = true, description = "the .safetensors state_dict")
    Path weights;
    @Option(names = "--data", paramLabel = "FILE", defaultValue = "shakespeare", description = "the text the model was trained on (default: ${DEFAULT-VALUE})")
    String data;
    @Option(names = "--out", paramLabel = "DIR", required = true, description = "checkpoint directory to create")
    Path out;
    @Option(names = "--block-size", paramLabel = "N", defaultValue = "8", description = "training window for the bigram models, which do not store one (default ${DEFAULT-VALUE})")
    int blockSize;
    @Option(names = "--dropout", paramLabel = "P", defaultValue = "0", description = "dropout to train the GPT with later (default ${DEFAULT-VALUE})")
    float dropout;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(out.resolve(Checkpoint.MODEL_FILE))) throw new UserInputException(out + " already holds a checkpoint; choose another --out");
        if (!Files.isRegularFile(weights)) throw new UserInputException("weights file not found: " + weights);
        SafeTensors.Contents file = SafeTensors.read(weights);
        ModelConfig config = ModelWeights.inferConfig(ModelWeights.shapes(file), dropout, blockSize);
        Corpus corpus = DataOption.load(data);
        if (corpus.vocabulary().size() != config.vocabSize()) {
            throw new UserInputException("the weights are for " + config.vocabSize() + " characters but " + corpus.name()
                    + " has " + corpus.vocabulary().size() + ": give the corpus the model was trained on with --data");
        }
        LanguageModel model = LanguageModel.create(config, new Rng(0));
        ModelWeights.load(model, file, "");
        Checkpoint.write(out, model, corpus.vocabulary(), null, null, null, corpus.name());
        Console.err().printf(Locale.ROOT, "imported %s (%,d parameters) into %s%n", config.kind(), model.parameterCount(), out);
        return 0;
    }
}
