package dev.toygpt.cli;

import dev.toygpt.io.ModelWeights;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a checkpoint's weights as a PyTorch state_dict in safetensors, with the notebooks' parameter names.",
                "Load it in Python with safetensors.torch.load_file(FILE) and model.load_state_dict(...)."})
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", paramLabel = "DIR", required = true, description = "a checkpoint directory, or a run directory (its best checkpoint)")
    Path checkpoint;
    @Option(names = "--out", paramLabel = "FILE", required = true, description = "the .safetensors file to write")
    Path out;

    @Override
    public Integer call() throws Exception {
        Path dir = RunDirectory.resolveCheckpoint(checkpoint);
        Checkpoint.Loaded loaded = Checkpoint.load(dir);
        var c = loaded.model().config();
        ModelWeights.save(loaded.model(), out, Map.of("format", "pt", "model", c.kind().cliName(),
                "vocab_size", Integer.toString(c.vocabSize()), "block_size", Integer.toString(c.blockSize())));
        Console.err().println("exported " + dir + " to " + out);
        return 0;
    }
}
