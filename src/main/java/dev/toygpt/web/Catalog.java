package dev.toygpt.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.sample.Generator;
import dev.toygpt.sample.NextTokenSampler;
import dev.toygpt.sample.Prompt;
import dev.toygpt.sample.SamplingSettings;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.CheckpointException;
import dev.toygpt.train.ModelCache;
import dev.toygpt.train.RunIndex;
import dev.toygpt.train.RunSummary;
import dev.toygpt.util.Rng;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * What the server knows about --runs: the index of run directories (ids to paths, nothing else is ever
 * opened), each run's summary, the models loaded from checkpoints, and each run's latest sample.
 */
final class Catalog implements AutoCloseable {
    /** The latest sample: this many characters from the run's best checkpoint, from a newline, seed 1337, temperature 1. */
    static final int SAMPLE_CHARS = 200;
    static final long SAMPLE_SEED = 1337;
    /** A run counts as training while its files changed this recently (and it has steps to go). */
    static final long TRAINING_WINDOW_MILLIS = 60_000;

    private final Path runsDir;
    private volatile RunIndex index;
    private final ModelCache models = new ModelCache(4);
    private final Map<String, Cached> summaries = new ConcurrentHashMap<>();
    private final Map<String, String> samples = new ConcurrentHashMap<>();
    private final Set<String> samplesPending = ConcurrentHashMap.newKeySet();
    private final Set<Path> trainingHere = new CopyOnWriteArraySet<>();
    private final ExecutorService sampler;
    private volatile Runnable onSample = () -> { };

    private record Cached(String fingerprint, RunSummary summary) {}

    Catalog(Path runsDir) {
        this.runsDir = runsDir;
        this.index = RunIndex.scan(runsDir);
        this.sampler = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "toygpt-web-samples");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        });
    }

    Path runsDir() {
        return runsDir;
    }

    RunIndex index() {
        return index;
    }

    synchronized RunIndex rescan() {
        index = RunIndex.scan(runsDir);
        return index;
    }

    /** Called (on the sampling thread) when a run's latest sample is ready. */
    void onSampleReady(Runnable r) {
        onSample = r;
    }

    /** A run this JVM trains (train --serve): shown as training until it ends. */
    void markTraining(Path runDir, boolean training) {
        Path real;
        try {
            real = runDir.toRealPath();
        } catch (IOException e) {
            real = runDir.toAbsolutePath().normalize();
        }
        if (training) trainingHere.add(real);
        else trainingHere.remove(real);
    }

    RunIndex.Run run(String id) {
        RunIndex.Run r = index.run(id).orElse(null);
        if (r == null) r = rescan().run(id).orElse(null); // a run that appeared since the last scan
        if (r == null) throw ApiException.notFound("no run with id '" + id + "' under " + runsDir);
        return r;
    }

    /** The model of a checkpoint id from the listing; unknown ids are 404. */
    Checkpoint.Loaded load(String checkpointId) {
        for (int attempt = 0; ; attempt++) {
            Path dir = fresh(checkpointId);
            if (dir == null) dir = rescan().checkpoint(checkpointId).orElse(null);
            if (dir == null) throw ApiException.notFound("no checkpoint with id '" + checkpointId + "' (ids come from /api/runs)");
            try {
                return models.get(dir);
            } catch (CheckpointException e) {
                // a trainer may have replaced it between the scan and now: look again once
                if (attempt > 0) {
                    throw new ApiException(409, "cannot read checkpoint '" + checkpointId + "': " + e.getMessage());
                }
                rescan();
            }
        }
    }

    /** The checkpoint an id names now, reading only its own run's pointers (best and last move as it trains). */
    private Path fresh(String checkpointId) {
        RunIndex current = index;
        int at = checkpointId == null ? -1 : checkpointId.lastIndexOf('@');
        if (at < 0) return null;
        return current.run(checkpointId.substring(0, at)).map(r -> current.refreshed(r).checkpoints().get(checkpointId)).orElse(null);
    }

    /** Every run as the listing shows it, from a fresh scan: a trainer may have rotated checkpoints since the last poll. */
    List<ObjectNode> runs() {
        return runs(rescan());
    }

    /** Every run of an index just scanned (the event poll's own). */
    List<ObjectNode> runs(RunIndex scanned) {
        List<ObjectNode> out = new ArrayList<>();
        for (RunIndex.Run run : scanned.runs().values()) out.add(runJson(run));
        return out;
    }

    ObjectNode runJson(RunIndex.Run run) {
        RunSummary s = summary(run);
        ObjectNode n = JsonBody.JSON.valueToTree(s);
        boolean recent = System.currentTimeMillis() - s.updated() < TRAINING_WINDOW_MILLIS;
        n.put("training", trainingHere.contains(run.dir()) || (recent && !s.finished()));
        n.put("sample", sample(run));
        return n;
    }

    /** A fingerprint of what a run's listing depends on: changes whenever the trainer writes. */
    static String fingerprint(RunIndex.Run run) {
        return stamp(run.metricsFile()) + "|" + stamp(run.dir().resolve(dev.toygpt.train.RunDirectory.POINTERS)) + "|" + run.checkpoints().keySet();
    }

    private static String stamp(Path f) {
        try {
            return Files.size(f) + ":" + Files.getLastModifiedTime(f).toMillis();
        } catch (IOException e) {
            return "-";
        }
    }

    private RunSummary summary(RunIndex.Run run) {
        String fp = fingerprint(run);
        Cached c = summaries.get(run.id());
        if (c != null && c.fingerprint().equals(fp) && c.summary().updated() != 0) return c.summary();
        RunSummary s = RunSummary.of(run);
        summaries.put(run.id(), new Cached(fp, s));
        return s;
    }

    /** The cached sample of the run's best checkpoint; computed in the background when missing (null meanwhile). */
    private String sample(RunIndex.Run run) {
        Path best = run.checkpoints().get(run.id() + "@best");
        if (best == null) return null;
        String key = best + "|" + stamp(best.resolve(Checkpoint.MODEL_FILE));
        String s = samples.get(key);
        if (s != null || !samplesPending.add(key)) return s;
        try {
            sampler.execute(() -> {
                try {
                    Checkpoint.Loaded loaded = Checkpoint.load(best); // its own copy: the cache is for the pages' requests
                    loaded.model().train(false);
                    samples.put(key, latestSample(loaded.model(), loaded.vocabulary()));
                    onSample.run();
                } catch (RuntimeException e) {
                    samples.put(key, ""); // unreadable now; the listing shows no sample rather than retrying forever
                } finally {
                    samplesPending.remove(key);
                }
            });
        } catch (RejectedExecutionException closed) {
            samplesPending.remove(key);
        }
        return null;
    }

    /** What the listing shows as a run's latest sample. */
    static String latestSample(LanguageModel model, dev.toygpt.text.Vocabulary vocab) {
        Generator g = new Generator(model, new NextTokenSampler(SamplingSettings.defaults()));
        int[] ids = g.generate(Prompt.start(vocab).ids(), SAMPLE_CHARS, new Rng(SAMPLE_SEED), (java.util.function.IntConsumer) null);
        return vocab.decode(ids);
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
