package dev.toygpt.cli;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.sample.Conversation;
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
        Conversation conversation = new Conversation(model, vocab);
        var err = Console.err();
        var out = Console.out();
        err.printf("chatting with %s (%s, context %d characters). /reset, /quit%n", checkpoint, model.config().kind(), conversation.window());
        BufferedReader in = new BufferedReader(new InputStreamReader(Console.in(), StandardCharsets.UTF_8));
        while (true) {
            err.print("> ");
            err.flush();
            String line = in.readLine();
            if (line == null || line.strip().equals("/quit")) break;
            if (line.strip().equals("/reset")) {
                conversation.reset();
                err.println("(conversation forgotten)");
                continue;
            }
            try {
                SampleCommand.promptTokens(line + "\n", vocab, strict); // warns about (or, when strict, rejects) unknown characters
            } catch (UserInputException e) {
                err.println("error: " + e.getMessage());
                continue;
            }
            Conversation.Turn turn = conversation.add(line);
            if (turn.cropNotice() != null) err.println("(" + turn.cropNotice() + ")");
            String reply = conversation.reply(generator, turn, maxNewTokens, rng, (id, p) -> {
                out.print(vocab.decode(id));
                out.flush();
            });
            if (reply.isEmpty() || reply.charAt(reply.length() - 1) != '\n') out.println();
        }
        return 0;
    }
}
