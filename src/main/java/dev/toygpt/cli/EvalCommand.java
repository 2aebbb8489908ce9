package dev.toygpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.text.Batches;
import dev.toygpt.text.Corpus;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.LossEstimator;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.util.Rng;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Estimate a checkpoint's train and validation loss (nats and bits per character) on a corpus.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", paramLabel = "DIR", required = true,
            description = "a checkpoint directory, or a run directory (its best checkpoint)")
    Path checkpoint;
    @Option(names = "--data", paramLabel = "FILE", defaultValue = "shakespeare", description = "text to evaluate on (default: ${DEFAULT-VALUE})")
    String data;
    @Option(names = "--eval-iters", paramLabel = "N", defaultValue = "200", description = "random batches per split (default ${DEFAULT-VALUE})")
    int evalIters;
    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "32", description = "windows per batch (default ${DEFAULT-VALUE})")
    int batchSize;
    @Option(names = "--train-fraction", paramLabel = "X", defaultValue = "0.9", description = "where the validation part starts (default ${DEFAULT-VALUE})")
    double trainFraction;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "1337") long seed;
    @Option(names = "--threads", paramLabel = "N") Integer threads;
    @Option(names = "--json", description = "print one JSON line: train_loss, val_loss, bits_per_char")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (evalIters < 1) throw new UserInputException("--eval-iters must be at least 1, got " + evalIters);
        if (batchSize < 1) throw new UserInputException("--batch-size must be at least 1, got " + batchSize);
        if (!(trainFraction > 0 && trainFraction < 1)) throw new UserInputException("--train-fraction must be between 0 and 1, got " + trainFraction);
        if (threads != null) ThreadsOption.apply(threads);
        Path dir = RunDirectory.resolveCheckpoint(checkpoint);
        Checkpoint.Loaded loaded = Checkpoint.load(dir);
        Corpus corpus = DataOption.load(data);
        Vocabulary vocab = loaded.vocabulary();
        int[] tokens;
        try {
            tokens = vocab.encode(corpus.text()); // the model's own ids, not the corpus's
        } catch (IllegalArgumentException e) {
            throw new UserInputException(corpus.name() + " has text the model cannot read: " + e.getMessage());
        }
        int n = (int) (tokens.length * trainFraction);
        int[] train = java.util.Arrays.copyOfRange(tokens, 0, n), val = java.util.Arrays.copyOfRange(tokens, n, tokens.length);
        int block = loaded.model().config().blockSize();
        if (Math.min(train.length, val.length) < block + 1) {
            throw new UserInputException(String.format(Locale.ROOT, "%s is too short to evaluate a model with block size %d: its training"
                    + " part has %,d characters and its validation part %,d, but each needs at least block size + 1 = %d. Use a longer text%s",
                    corpus.name(), block, train.length, val.length, block + 1,
                    val.length < train.length ? " (or give validation more of it with a lower --train-fraction)" : ""));
        }
        Rng rng = new Rng(seed);
        double trainLoss = LossEstimator.estimate(loaded.model(), new Batches(train, block, batchSize), evalIters, rng);
        double valLoss = LossEstimator.estimate(loaded.model(), new Batches(val, block, batchSize), evalIters, rng);
        double ln2 = Math.log(2);
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("checkpoint", dir.toString());
            o.put("data", corpus.name());
            o.put("train_loss", round(trainLoss));
            o.put("val_loss", round(valLoss));
            o.put("bits_per_char", round(valLoss / ln2));
            o.put("train_bits_per_char", round(trainLoss / ln2));
            o.put("eval_iters", evalIters);
            Console.out().println(o);
        } else {
            Console.out().printf(Locale.ROOT, "checkpoint %s on %s (%d batches of %d x %d per split)%n", dir, corpus.name(), evalIters, batchSize, block);
            Console.out().printf(Locale.ROOT, "train loss %.4f nats = %.4f bits per character%n", trainLoss, trainLoss / ln2);
            Console.out().printf(Locale.ROOT, "val   loss %.4f nats = %.4f bits per character%n", valLoss, valLoss / ln2);
        }
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1e6) / 1e6;
    }
}
