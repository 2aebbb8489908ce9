package dev.toygpt.cli;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.sample.Generator;
import dev.toygpt.sample.NextTokenSampler;
import dev.toygpt.sample.Prompt;
import dev.toygpt.sample.SamplingSettings;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.util.Rng;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Continue a prompt with a trained model, printing characters as they are generated.")
final class SampleCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", paramLabel = "DIR", required = true,
            description = "a checkpoint directory, or a run directory (its best checkpoint)")
    Path checkpoint;
    @Option(names = "--prompt", paramLabel = "TEXT", description = "text to continue (default: start from a newline)")
    String prompt;
    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "500", description = "characters to generate (default ${DEFAULT-VALUE})")
    int maxNewTokens;
    @Option(names = "--num-samples", paramLabel = "N", defaultValue = "1", description = "independent samples (default ${DEFAULT-VALUE})")
    int numSamples;
    @Option(names = "--strict", description = "fail on prompt characters the model does not know, instead of dropping them")
    boolean strict;
    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: all cores)")
    Integer threads;
    @Option(names = "--no-cache", description = "recompute the whole context window for every character, as the notebook does (slower)")
    boolean noCache;
    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() {
        if (maxNewTokens < 1) throw new UserInputException("--max-new-tokens must be at least 1, got " + maxNewTokens);
        if (numSamples < 1) throw new UserInputException("--num-samples must be at least 1, got " + numSamples);
        SamplingSettings settings = sampling.settings();
        if (threads != null) ThreadsOption.apply(threads);
        Checkpoint.Loaded loaded = Checkpoint.load(RunDirectory.resolveCheckpoint(checkpoint));
        Vocabulary vocab = loaded.vocabulary();
        int[] context = promptTokens(prompt, vocab, strict);
        PrintStream out = Console.out();
        Rng rng = new Rng(sampling.seed);
        for (int s = 0; s < numSamples; s++) {
            if (s > 0) out.println("\n---------------");
            if (prompt != null) out.print(vocab.decode(context));
            stream(loaded.model(), vocab, context, maxNewTokens, settings, rng, out, !noCache);
        }
        return 0;
    }

    /** Encodes a prompt ({@link Prompt}); unknown characters are dropped with a warning, or rejected when strict. */
    static int[] promptTokens(String prompt, Vocabulary vocab, boolean strict) {
        Prompt p = Prompt.encode(prompt, vocab);
        if (p.hasDropped()) {
            if (strict) throw new UserInputException("the prompt has " + p.dropped() + " (drop --strict to skip them)");
            Console.err().println("warning: the prompt has " + p.dropped() + "; dropping them");
        }
        return p.ids();
    }

    /** The notebooks start generation from token 0; a newline when the vocabulary has one. */
    static int startToken(Vocabulary vocab) {
        return Prompt.startToken(vocab);
    }

    /** Generates and prints each character as soon as it is chosen. */
    static void stream(LanguageModel model, Vocabulary vocab, int[] context, int n, SamplingSettings settings, Rng rng,
                       PrintStream out, boolean useCache) {
        Generator gen = new Generator(model, new NextTokenSampler(settings), useCache);
        gen.generate(context, n, rng, id -> {
            out.print(vocab.decode(id));
            out.flush();
        });
        out.println();
    }
}
