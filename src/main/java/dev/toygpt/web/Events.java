package dev.toygpt.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.train.MetricsLog;
import dev.toygpt.train.RunIndex;
import dev.toygpt.train.RunSummary;
import io.javalin.http.sse.SseClient;

import java.io.IOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The page's live feed (GET /api/events): every half second the runs folder is looked at again; new rows
 * in a run's metrics.csv go out as {@code metrics} events, a change in the runs or their checkpoints as a
 * {@code runs} event with the whole listing, and a {@code : ping} comment keeps idle connections open.
 */
final class Events implements AutoCloseable {
    static final long POLL_MILLIS = 500;
    static final long PING_SECONDS = 15;

    private final Catalog catalog;
    private final Set<SseClient> clients = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService timer;
    /** Per run: the metrics.csv size and the rows already announced. */
    private final Map<String, long[]> seen = new HashMap<>();
    private String runsFingerprint = "";
    private final AtomicBoolean runsChanged = new AtomicBoolean();

    Events(Catalog catalog) {
        this.catalog = catalog;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "toygpt-web-events");
            t.setDaemon(true);
            return t;
        });
        catalog.onSampleReady(() -> runsChanged.set(true));
        poll(); // the rows that exist now are not news
        timer.scheduleWithFixedDelay(this::pollSafely, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(this::ping, PING_SECONDS, PING_SECONDS, TimeUnit.SECONDS);
    }

    /** A new page: it stays subscribed until it goes away. */
    void subscribe(SseClient client) {
        client.keepAlive();
        client.onClose(() -> clients.remove(client));
        client.sendComment("connected"); // before it is shared with the timer, so one thread writes at a time
        clients.add(client);
    }

    int subscribers() {
        return clients.size();
    }

    private void pollSafely() {
        try {
            poll();
        } catch (RuntimeException e) {
            // a file half written, a folder removed under us: the next poll sees it settled
        }
    }

    private synchronized void poll() {
        RunIndex index = catalog.rescan();
        StringBuilder fp = new StringBuilder();
        for (RunIndex.Run run : index.runs().values()) {
            fp.append(run.id()).append(run.checkpoints().keySet()).append(Catalog.fingerprint(run).split("\\|", 3)[1]).append(';');
            long size = size(run);
            long[] s = seen.get(run.id());
            if (s == null) {
                List<MetricsLog.Row> rows = RunSummary.readMetrics(run.metricsFile());
                seen.put(run.id(), new long[]{size, rows.size()});
                continue;
            }
            if (size == s[0]) continue;
            List<MetricsLog.Row> rows = RunSummary.readMetrics(run.metricsFile());
            s[0] = size;
            if (rows.size() < s[1]) { // rewritten (a resumed run drops rows after its checkpoint)
                s[1] = rows.size();
                runsChanged.set(true);
                continue;
            }
            if (rows.size() > s[1]) {
                List<MetricsLog.Row> fresh = rows.subList((int) s[1], rows.size());
                s[1] = rows.size();
                ObjectNode data = JsonBody.JSON.createObjectNode();
                data.put("id", run.id());
                data.set("rows", rowsJson(fresh));
                broadcast("metrics", data);
                runsChanged.set(true); // the listing's step and losses moved too
            }
        }
        seen.keySet().retainAll(index.runs().keySet());
        String now = fp.toString();
        if (!now.equals(runsFingerprint)) {
            runsFingerprint = now;
            runsChanged.set(true);
        }
        if (runsChanged.getAndSet(false) && !clients.isEmpty()) {
            ObjectNode data = JsonBody.JSON.createObjectNode();
            ArrayNode runs = data.putArray("runs");
            catalog.runs(index).forEach(runs::add);
            broadcast("runs", data);
        }
    }

    static ArrayNode rowsJson(List<MetricsLog.Row> rows) {
        ArrayNode a = JsonBody.JSON.createArrayNode();
        for (MetricsLog.Row r : rows) {
            ObjectNode o = a.addObject();
            o.put("step", r.step());
            o.put("trainLoss", r.trainLoss());
            o.put("valLoss", r.valLoss());
            o.put("lr", r.lr());
            o.put("seconds", r.elapsedSeconds());
        }
        return a;
    }

    private static long size(RunIndex.Run run) {
        try {
            return Files.size(run.metricsFile());
        } catch (IOException e) {
            return -1;
        }
    }

    private void broadcast(String event, ObjectNode data) {
        String json;
        try {
            json = JsonBody.JSON.writeValueAsString(data);
        } catch (JsonProcessingException e) {
            return;
        }
        for (SseClient c : clients) {
            if (c.terminated()) {
                clients.remove(c);
                continue;
            }
            c.sendEvent(event, json);
        }
    }

    /**
     * Forgets the pages that went away and returns how many are left. A closed connection shows only when
     * written to, and the first write after the close may still succeed: so two comments, a moment apart.
     */
    synchronized int prune() {
        for (int round = 0; round < 2; round++) {
            ping();
            if (round == 0) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return clients.size();
    }

    private synchronized void ping() { // one writer at a time per page: the timer, or a request pruning
        for (SseClient c : clients) {
            try {
                if (c.terminated()) clients.remove(c);
                else c.sendComment("ping");
            } catch (RuntimeException e) {
                clients.remove(c);
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        for (SseClient c : clients) {
            try {
                c.close();
            } catch (RuntimeException ignored) {
                // going away anyway
            }
        }
        clients.clear();
    }
}
