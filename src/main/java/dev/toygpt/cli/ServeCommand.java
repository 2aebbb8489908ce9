package dev.toygpt.cli;

import dev.toygpt.web.PlaygroundServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve the playground: a local web page to watch runs train, generate text, see the",
                "next-character probabilities, the attention maps and the embeddings. Ctrl-C stops it."})
final class ServeCommand implements Callable<Integer> {
    static final int DEFAULT_PORT = 8080;

    @Option(names = "--runs", paramLabel = "DIR", description = "the folder whose run directories the page shows (default: runs, created if missing)")
    Path runs;
    @Option(names = "--port", paramLabel = "N", description = "port (default: " + DEFAULT_PORT + ", or the next free one; 0: any free port)")
    Integer port;
    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "address to listen on (default ${DEFAULT-VALUE}: this computer only)")
    String host;
    @Option(names = "--threads", paramLabel = "N", description = "worker threads for the models (default: all cores)")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        if (threads != null) ThreadsOption.apply(threads);
        Path dir = runsFolder(runs);
        PlaygroundServer server = start(dir, host, port, Console.err());
        Console.err().println("Ctrl-C stops the server");
        awaitCtrlC(server);
        return 0;
    }

    /** The runs folder: the default one is created when missing, one given with --runs must exist. */
    static Path runsFolder(Path given) throws IOException {
        if (given == null) {
            Path dir = Path.of("runs");
            if (!Files.exists(dir)) Files.createDirectories(dir);
            if (!Files.isDirectory(dir)) throw new UserInputException("runs is not a folder: use --runs DIR");
            return dir;
        }
        if (!Files.exists(given)) throw new UserInputException("--runs " + given + " does not exist (train a model into it first, e.g. ./toygpt train --out " + given.resolve("seed") + ")");
        if (!Files.isDirectory(given)) throw new UserInputException("--runs " + given + " is not a folder");
        if (!Files.isReadable(given) || !Files.isExecutable(given)) throw new UserInputException("--runs " + given + " cannot be read (permissions)");
        return given;
    }

    /**
     * Starts the server on host, at port (null: 8080 or the next free one) and prints its address; a host
     * that others on the network can reach gets a warning.
     */
    static PlaygroundServer start(Path runsDir, String host, Integer port, PrintStream err) {
        if (port != null && (port < 0 || port > 65535)) throw new UserInputException("--port must be between 0 and 65535, got " + port);
        if (host == null || host.isBlank()) throw new UserInputException("--host must name an address, e.g. 127.0.0.1");
        if (PlaygroundServer.freePort(host, 0) < 0) {
            throw new UserInputException("cannot serve on " + host + ": not an address of this computer (try 127.0.0.1, or 0.0.0.0 for every network)");
        }
        int chosen = port != null ? port : PlaygroundServer.freePort(host, DEFAULT_PORT);
        if (chosen < 0) throw new UserInputException("ports " + DEFAULT_PORT + " to " + (DEFAULT_PORT + 19) + " are all taken on " + host + ": choose one with --port");
        if (port != null && port != 0 && PlaygroundServer.freePort(host, port) != port) {
            throw new UserInputException("port " + port + " on " + host + " is taken (or cannot be used): choose another --port, or leave it out");
        }
        PlaygroundServer server;
        try {
            server = PlaygroundServer.start(PlaygroundServer.Options.defaults(runsDir).withHost(host).withPort(chosen));
        } catch (RuntimeException e) {
            throw new UserInputException("cannot serve on " + host + ":" + chosen + ": " + rootMessage(e));
        }
        if (PlaygroundServer.exposes(host)) {
            err.println("warning: --host " + host + " lets other computers on the network reach the playground and generate"
                    + " with your models; it has no password. Use 127.0.0.1 unless you mean it.");
        }
        String moved = port == null && chosen != DEFAULT_PORT ? " (port " + DEFAULT_PORT + " was taken)" : "";
        err.println("playground for " + runsDir + " at " + server.url() + moved);
        return server;
    }

    /** Blocks until the JVM is asked to stop (Ctrl-C, a kill), then stops the server cleanly. */
    static void awaitCtrlC(PlaygroundServer server) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } finally {
                stopped.countDown();
            }
        }, "toygpt-serve-stop"));
        stopped.await();
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
