package dev.toygpt.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.train.CheckpointException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The playground's web server: the page (static files from the classpath folder /web, uPlot from its
 * WebJar) and the JSON API (docs/api.md) over the run directories under one folder.
 *
 * <p>It is a local tool that reads your files, so the network is treated as hostile: requests must name
 * this server in their Host header (against DNS rebinding), requests from pages of other sites are refused,
 * runs are named by ids from the server's own index (never by paths), and everything is bounded: body size,
 * text length, characters per generation, generations at once, seconds per generation.
 */
public final class PlaygroundServer implements AutoCloseable {
    /**
     * How to serve. {@link #defaults(Path)} gives the documented limits; tests lower some.
     *
     * @param port 0 for any free port
     */
    public record Options(Path runsDir, String host, int port, int httpThreads, int maxBodyBytes, int maxTextChars,
                          int maxNewTokens, int maxGenerations, long generationMillis) {
        public static Options defaults(Path runsDir) {
            return new Options(runsDir, "127.0.0.1", 8080, 32, 64 * 1024, 10_000, 2000, 4, 60_000);
        }

        public Options withHost(String h) {
            return new Options(runsDir, h, port, httpThreads, maxBodyBytes, maxTextChars, maxNewTokens, maxGenerations, generationMillis);
        }

        public Options withPort(int p) {
            return new Options(runsDir, host, p, httpThreads, maxBodyBytes, maxTextChars, maxNewTokens, maxGenerations, generationMillis);
        }

        public Options withHttpThreads(int t) {
            return new Options(runsDir, host, port, t, maxBodyBytes, maxTextChars, maxNewTokens, maxGenerations, generationMillis);
        }

        public Options withGenerationMillis(long ms) {
            return new Options(runsDir, host, port, httpThreads, maxBodyBytes, maxTextChars, maxNewTokens, maxGenerations, ms);
        }
    }

    /** Pages listening to /api/events at once (each holds a connection, not a thread). */
    static final int MAX_SUBSCRIBERS = 64;

    private final Options options;
    private final Catalog catalog;
    private final Events events;
    private final Generations generations;
    private final Javalin app;
    private final Set<String> allowedHosts;
    private final int port;

    private PlaygroundServer(Options options) {
        this.options = options;
        this.catalog = new Catalog(options.runsDir());
        this.generations = new Generations(options.maxGenerations());
        this.events = new Events(catalog);
        Api api = new Api(options, catalog, generations);
        this.app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.http.maxRequestSize = options.maxBodyBytes();
            config.http.prefer405over404 = true;
            config.http.asyncTimeout = 0; // the event feed stays open as long as the page does
            QueuedThreadPool pool = new QueuedThreadPool(options.httpThreads(), Math.min(4, options.httpThreads()));
            pool.setName("toygpt-web");
            pool.setDaemon(true);
            config.jetty.threadPool = pool;
            config.jetty.modifyHttpConfiguration(http -> {
                http.setSendServerVersion(false);
                http.setRequestHeaderSize(16 * 1024);
                // run ids may hold '/', which the page sends as %2F inside /api/runs/{id}/metrics
                http.setUriCompliance(UriCompliance.DEFAULT.with("toygpt-run-ids", UriCompliance.Violation.AMBIGUOUS_PATH_SEPARATOR));
            });
            config.jetty.modifyServletContextHandler(handler -> handler.getServletHandler().setDecodeAmbiguousURIs(true));
            config.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrors()));
            if (PlaygroundServer.class.getResource("/web") != null) {
                config.staticFiles.add(files -> {
                    files.hostedPath = "/";
                    files.directory = "/web";
                    files.location = Location.CLASSPATH;
                });
            }
            config.staticFiles.enableWebjars();

            config.routes.before(this::guard);
            config.routes.get("/api/runs", api::runs);
            config.routes.get("/api/runs/<id>/metrics", api::metrics);
            config.routes.sse("/api/events", events::subscribe);
            config.routes.post("/api/generate", api::generate);
            config.routes.post("/api/chat", api::chat);
            config.routes.post("/api/next", api::next);
            config.routes.post("/api/attention", api::attention);
            config.routes.get("/api/embeddings", api::embeddings);

            config.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e.status(), e.getMessage()));
            config.routes.exception(CheckpointException.class, (e, ctx) -> error(ctx, 409, e.getMessage()));
            config.routes.exception(IllegalArgumentException.class, (e, ctx) -> error(ctx, 400, e.getMessage()));
            config.routes.exception(Exception.class, (e, ctx) -> error(ctx, 500, "internal error: " + describe(e)));
            config.routes.error(404, ctx -> {
                if (ctx.attribute(ANSWERED) == null) error(ctx, 404, "not found: " + ctx.path());
            });
            config.routes.error(405, ctx -> {
                if (ctx.attribute(ANSWERED) == null) error(ctx, 405, "method not allowed: " + ctx.method() + " " + ctx.path());
            });
        });
        try {
            app.start(options.host(), options.port());
        } catch (RuntimeException e) {
            events.close();
            catalog.close();
            throw e;
        }
        this.port = app.port();
        this.allowedHosts = allowedHosts(options.host(), port);
    }

    /** Starts serving; the port in options must be free (see {@link #freePort}). */
    public static PlaygroundServer start(Options options) {
        return new PlaygroundServer(options);
    }

    /** The first port from first on (up to 20 tried) that host can bind, or -1; first 0 asks for any free port. */
    public static int freePort(String host, int first) {
        for (int p = first; p < first + 20 && p <= 65535; p++) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(host, p));
                return s.getLocalPort();
            } catch (IOException | RuntimeException e) {
                // taken: try the next one
            }
        }
        return -1;
    }

    public int port() {
        return port;
    }

    public String url() {
        String h = options.host();
        if (isWildcard(h)) h = "127.0.0.1";
        if (h.contains(":")) h = "[" + h + "]";
        return "http://" + h + ":" + port + "/";
    }

    /** Generations streaming right now (the tests watch it drop when a client goes away). */
    public int activeGenerations() {
        return generations.active();
    }

    /** Pages subscribed to /api/events. */
    public int subscribers() {
        return events.subscribers();
    }

    /** Shows a run this JVM trains as training until it is unmarked. */
    public void markTraining(Path runDir, boolean training) {
        catalog.markTraining(runDir, training);
    }

    /** True when host is not a loopback address: others on the network can reach the server. */
    public static boolean exposes(String host) {
        try {
            return !InetAddress.getByName(host).isLoopbackAddress();
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() {
        events.close();
        app.stop();
        catalog.close();
    }

    // ---- the guard in front of every request

    private void guard(Context ctx) {
        String host = ctx.header("Host");
        if (host == null || !allowedHosts.contains(host.toLowerCase(Locale.ROOT))) {
            throw new ApiException(403, "this server answers only requests to " + url() + " (Host header '" + host + "' refused)");
        }
        boolean streamingOrChanging = !ctx.method().name().equals("GET") || ctx.path().equals("/api/events");
        String origin = ctx.header("Origin");
        if (origin != null && (streamingOrChanging || ctx.path().startsWith("/api/")) && !sameOrigin(origin)) {
            throw new ApiException(403, "requests from other sites are refused (Origin " + origin + ")");
        }
        if (streamingOrChanging && "cross-site".equals(ctx.header("Sec-Fetch-Site"))) {
            throw new ApiException(403, "requests from other sites are refused");
        }
        if (ctx.path().equals("/api/events")) {
            if (!String.valueOf(ctx.header("Accept")).contains("text/event-stream")) {
                throw new ApiException(406, "/api/events is an event stream: send Accept: text/event-stream (EventSource does)");
            }
            if (events.subscribers() >= MAX_SUBSCRIBERS && events.prune() >= MAX_SUBSCRIBERS) {
                ctx.header("Retry-After", "5");
                throw new ApiException(429, "too many pages are listening to /api/events (" + MAX_SUBSCRIBERS + "); close some");
            }
        }
        String length = ctx.header("Content-Length");
        if (length != null) {
            long n;
            try {
                n = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("bad Content-Length");
            }
            if (n > options.maxBodyBytes()) {
                throw new ApiException(413, "the request body is larger than " + options.maxBodyBytes() / 1024 + " KB");
            }
        }
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "no-referrer");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    }

    private boolean sameOrigin(String origin) {
        try {
            URI u = new URI(origin);
            if (!"http".equals(u.getScheme()) || u.getHost() == null) return false;
            int p = u.getPort() == -1 ? 80 : u.getPort();
            String h = u.getHost().toLowerCase(Locale.ROOT);
            return p == port && allowedHosts.contains(h + ":" + p);
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** host:port names a browser may use for this server: the bound address, localhost, the loopback addresses. */
    private static Set<String> allowedHosts(String bound, int port) {
        Set<String> names = new HashSet<>(Set.of("localhost", "127.0.0.1", "[::1]"));
        String b = bound.toLowerCase(Locale.ROOT);
        names.add(b.contains(":") && !b.startsWith("[") ? "[" + b + "]" : b);
        if (isWildcard(bound)) {
            try {
                for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                    for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                        String h = a.getHostAddress();
                        int zone = h.indexOf('%');
                        if (zone >= 0) h = h.substring(0, zone);
                        names.add(h.contains(":") ? "[" + h + "]" : h);
                    }
                }
                names.add(InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT));
            } catch (IOException e) {
                // only the names above
            }
        }
        Set<String> out = new HashSet<>();
        for (String n : names) {
            out.add(n + ":" + port);
            if (port == 80) out.add(n);
        }
        return Collections.unmodifiableSet(out);
    }

    private static boolean isWildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
    }

    /** Set on a request whose error message is written, so the generic 404/405 answers leave it alone. */
    private static final String ANSWERED = "toygpt.answered";

    private static void error(Context ctx, int status, String message) {
        ctx.attribute(ANSWERED, Boolean.TRUE);
        ObjectNode n = JsonBody.JSON.createObjectNode();
        n.put("error", message);
        ctx.status(status).contentType("application/json;charset=utf-8").result(n.toString());
    }

    /** A message for a failure, without a stack trace: its class only when it has no message. */
    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
