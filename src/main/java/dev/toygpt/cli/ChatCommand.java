package dev.toygpt.cli;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.sample.Generator;
import dev.toygpt.sample.NextTokenSampler;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.util.Rng;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

@Command(name = "chat", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Type a line; the model continues the conversation, streaming its reply.",
                "The whole conversation is the context, cropped to the model's block size.",
                "Commands: /reset forgets the conversation, /quit (or end of input) leaves."})
final class ChatCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", paramLabel = "DIR", required = true,
            description = "a checkpoint directory, or a run directory (its best checkpoint)")
    Path checkpoint;
    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "300",
            description = "longest reply in characters; a reply also ends at a blank line (default ${DEFAULT-VALUE})")
    int maxNewTokens;
    @Option(names = "--strict", description = "reject lines with characters the model does not know")
    boolean strict;
    @Option(names = "--threads", paramLabel = "N") Integer threads;
    @Mixin
    SamplingOptions sampling;

    @Override
    public Integer call() throws Exception {
        if (maxNewTokens < 1) throw new UserInputException("--max-new-tokens must be at least 1, got " + maxNewTokens);
        var settings = sampling.settings();
        if (threads != null) ThreadsOption.apply(threads);
        Checkpoint.Loaded loaded = Checkpoint.load(RunDirectory.resolveCheckpoint(checkpoint));
        LanguageModel model = loaded.model();
        Vocabulary vocab = loaded.vocabulary();
        Generator generator = new Generator(model, new NextTokenSampler(settings));
        Rng rng = new Rng(sampling.seed);
        int window = model.contextLength();
        int newline = vocab.encodeChar('\n');
        StringBuilder conversation = new StringBuilder();
        boolean warnedCrop = false;
        var err = Console.err();
        var out = Console.out();
        err.printf("chatting with %s (%s, context %d characters). /reset, /quit%n", checkpoint, model.config().kind(), window);
        BufferedReader in = new BufferedReader(new InputStreamReader(Console.in(), StandardCharsets.UTF_8));
        while (true) {
            err.print("> ");
            err.flush();
            String line = in.readLine();
            if (line == null || line.strip().equals("/quit")) break;
            if (line.strip().equals("/reset")) {
                conversation.setLength(0);
                warnedCrop = false;
                err.println("(conversation forgotten)");
                continue;
            }
            int[] typed;
            try {
                typed = SampleCommand.promptTokens(line + "\n", vocab, strict);
            } catch (UserInputException e) {
                err.println("error: " + e.getMessage());
                continue;
            }
            conversation.append(vocab.decode(typed));
            int[] context = vocab.encode(conversation.toString());
            if (context.length > window && !warnedCrop) {
                err.printf("(the conversation is longer than the model's context: it now sees only the last %d characters)%n", window);
                warnedCrop = true;
            }
            int[] ids = Arrays.copyOfRange(context, Math.max(0, context.length - window), context.length);
            StringBuilder reply = new StringBuilder();
            int[] previous = {-1};
            try {
                generator.generate(ids, maxNewTokens, rng, id -> {
                    out.print(vocab.decode(id));
                    out.flush();
                    reply.append(vocab.decode(id));
                    if (id == newline && previous[0] == newline) throw new StopReply();
                    previous[0] = id;
                });
            } catch (StopReply done) {
                // a blank line ends the speech
            }
            if (reply.length() == 0 || reply.charAt(reply.length() - 1) != '\n') out.println();
            conversation.append(reply);
        }
        return 0;
    }

    /** Ends generation early at the end of a speech. */
    private static final class StopReply extends RuntimeException {
        StopReply() {
            super(null, null, false, false);
        }
    }
}
