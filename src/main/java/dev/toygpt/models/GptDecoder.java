package dev.toygpt.models;

import dev.toygpt.kernels.Attention;
import dev.toygpt.kernels.CacheLines;
import dev.toygpt.kernels.LayerNorm;
import dev.toygpt.kernels.MatVec;
import dev.toygpt.kernels.MatVec.Then;
import dev.toygpt.kernels.Team;
import dev.toygpt.nn.Linear;

/**
 * Generation with a key/value cache. A GPT's keys and values at a position depend only on the tokens up
 * to it, so they are computed once, kept, and each new token runs the model on one position: the cost of a
 * token no longer grows with the context.
 *
 * <p>Positions are absolute (0 .. block_size-1), so when the context is full the cache cannot simply slide;
 * the decoder then keeps the newest half of the tokens at positions 0 .. block_size/2-1, which makes the
 * visible context vary between block_size/2 and block_size tokens. Their keys and values at those positions
 * are ready by then: each token of the newest half was also encoded at its place in the next window, as a
 * second row of the same pass ({@link #nextKeys}). A product of two rows reads the weights once, so that
 * second row costs little, where recomputing the kept half at once took about a quarter of the time. The
 * numbers are the same either way (each output is the same sum in the same order, whatever its row).
 * {@link dev.toygpt.sample.Generator} can instead recompute the whole window for every token, exactly as
 * the notebook does.
 *
 * <p>A token's time goes mostly into reading the weights: one position does two floating-point operations
 * per weight. So every Linear is packed once, in the order a token uses them, into one array that a token
 * reads from start to end; q, k and v are one product, and the ReLU is applied as expand stores its results.
 *
 * <p>A layer's two sums over the heads' outputs (proj) and over the hidden units (contract) are taken in
 * parts: one part per head, from that head's channels, and one per group of hidden units (group g the units
 * g * hidden / heads up to (g + 1) * hidden / heads); the parts are then added in head order, then the bias,
 * and the result to the residual stream. With several threads ({@link Team}), each
 * thread owns some heads: their q, k and v columns, their part of the cache, their attention, their parts
 * of proj, the same groups of expand's columns and their parts of contract, all packed on their own. So
 * each thread reads only its part of the weights (about 1/threads of a token's memory traffic), and the
 * threads wait for each other twice a layer, once each sum's parts are all written. Every thread keeps its
 * own copy of the residual stream and adds the parts itself. Each part and each sum is the same chain of
 * operations whichever thread computes it, so the logits are bit for bit those of one thread.
 *
 * <p>Those meetings cost a cache line's handover each, and on this project's virtual machine a handover
 * sometimes takes half a microsecond: then the caller computes tokens alone ({@link Pace} times both ways).
 * Alone, it still has the team's member 1 encode each token's next-window row, with the whole weights, while
 * it computes the token's own; it waits for those rows only when the window is full (a token's first row
 * took 8.5 us of two rows' 9.6 on seed).
 */
public final class GptDecoder implements AutoCloseable {
    /** Column slices are whole multiples of this many floats (an AVX-512 vector, two AVX2 vectors). */
    private static final int SLICE = 16;
    /** Positions encoded per pass: the new token, and its place in the next window. */
    private static final int ROWS = 2;

    private final Gpt gpt;
    private final int c, heads, headSize, layers, blockSize, vocab, hidden, keyStride;
    // per layer: keys transposed, (C, keyStride), column t = position t; values (block_size, C), row t = position t
    private float[][] keys, values;
    /**
     * The same for the next window: the tokens from position {@link #shift} on, which it keeps, encoded at
     * positions 0, 1, ... as they arrive. When the window is full the two swap.
     */
    private float[][] nextKeys, nextValues;
    private final int keep, shift;        // the next window keeps keep tokens, those from position shift on
    private final int cacheStart;         // the caches' floats (and attention's scores) start there, on a cache line: CacheLines
    private final int[] tokens;           // the tokens whose keys and values are cached
    private int length;
    /** Every head and every column in one share, for the caller alone. */
    private final Share whole;
    /** The weights this decoder packs from, and the shares packed so far. */
    private final Packing packing;
    /**
     * The threads that run a token's pass together, and per member its share: made when the team first runs a
     * token (a decoder whose caller alone is faster never packs the shares or starts the threads).
     */
    private final int teamSize;
    private Team team;
    private Share[] shares;
    /** Whether the next token is computed by the team or by the caller alone; null on one thread. */
    private final Pace pace;
    // One row per position being encoded: row 0 the new token's, row 1 its place in the next window.
    /**
     * Each head's part of proj, and each group's part of contract: part g of row t at (g * ROWS + t) * C. Two
     * arrays: a member may write its parts of contract while another still reads proj's.
     */
    private final float[] projParts, contractParts;
    private final float[] logits;
    /** What the team's member 1 encodes the next window's rows with while the caller computes the new token's alone (made at its first use). */
    private Follow follow;
    /** For tests: given the new token's position, whether the team computes it (else the caller, helped by member 1); null: the pace decides. */
    java.util.function.IntPredicate teamAt;
    /** Receives the attention weights of each new position when set (the playground's heatmaps); usually null. */
    private AttentionRecorder recorder;

    /** Told, for each layer of each new position, every head's softmax weights over the positions so far. */
    @FunctionalInterface
    public interface AttentionRecorder {
        /** weights holds positions floats for one head: the weight of each key 0 .. position. */
        void record(int layer, int head, int position, float[] weights, int positions);
    }

    /** One Linear's columns [outStart, outStart + out) within a share's weights: out = in · W + bias, W packed at offset. */
    private record Product(int offset, int in, int out, int outStart, float[] bias) {}

    /** The first hidden unit of contract's group g (g = heads: hidden). */
    private int groupStart(int g) {
        return g * hidden / heads;
    }

    /**
     * What one thread computes: heads [h0, h1) (their q, k and v, their parts of proj, their groups' columns
     * of expand and parts of contract) and a slice of lm_head's columns; its weights packed one after another
     * in the order a token uses them; and where each of its heads' (and groups') parts of proj's (and
     * contract's) inputs starts, then the end. Read only: decoders of the same weights share it (see {@link Packing}).
     */
    private record Packed(int h0, int h1, int own, float[] weights, Product[] qkv, Product[] proj, Product[] expand,
                          Product[] contract, Product lmHead, int[] headCuts, int[] groupCuts) {}

    /** A thread's {@link Packed} weights and its own copies of what every thread needs whole. */
    private static final class Share {
        final int h0, h1, own; // own: the channels of its heads, (h1 - h0) * head_size
        final float[] weights;
        final Product[] qkv, proj, expand, contract;
        final Product lmHead;
        final int[] headCuts, groupCuts;
        // its residual stream, the normalized rows, its q | k | v per row, its heads' attention per row (own
        // floats a row) and its groups' hidden units per row
        final float[] x, h, qkvOut, mean, rstd, scores, att, ff;
        /** LayerNorm's lane sums, from {@link CacheLines#firstAlignedFloat} (a vector stored there is read back at once). */
        final float[] lanes = new float[CacheLines.firstAlignedFloat() + 16];
        // attention's arguments per row: where its q and output are, its positions, its window's keys and values
        final int[] qOff, outOff, positions;
        final float[][] keyRows, valueRows;

        Share(Packed p, int rows, int c, int hidden, int keyStride) {
            h0 = p.h0();
            h1 = p.h1();
            own = p.own();
            weights = p.weights();
            qkv = p.qkv();
            proj = p.proj();
            expand = p.expand();
            contract = p.contract();
            lmHead = p.lmHead();
            headCuts = p.headCuts();
            groupCuts = p.groupCuts();
            x = new float[rows * c];
            h = new float[rows * c];
            qkvOut = new float[rows * 3 * own];
            mean = new float[rows];
            rstd = new float[rows];
            scores = new float[CacheLines.firstAlignedFloat() + rows * (h1 - h0) * keyStride]; // from a line, as the caches
            att = new float[rows * c];
            ff = new float[rows * hidden];
            qOff = new int[rows];
            outOff = new int[rows];
            positions = new int[rows];
            keyRows = new float[rows][];
            valueRows = new float[rows][];
        }
    }

    /**
     * A model's weights as some decoder packed them: a copy of every Linear's weight and bias (the source,
     * in {@link #linears} order), and the shares packed from that copy, per team size. Generation makes a
     * decoder per reply (bench: per round of 500 tokens), and packing took about 2 ms of a baby round's 30
     * (4 ms on a team: the caller's share and the members'); comparing the weights with the copy takes a
     * tenth of that. Packing from the copy, not the live weights, keeps every share of a Packing the same
     * weights even if the model changes between a decoder's start and its team's first token.
     */
    private static final class Packing {
        /** Per model; held weakly, so a model's packings go with it. */
        private static final java.util.Map<Gpt, Packing> OF = new java.util.WeakHashMap<>();
        final float[][] source;
        final java.util.Map<Integer, Packed[]> shares = new java.util.HashMap<>();

        private Packing(float[][] live) {
            source = new float[live.length][];
            for (int i = 0; i < live.length; i++) source[i] = live[i] == null ? null : live[i].clone();
        }

        /** The packing of gpt's weights as they are now: the last one if they have not changed since. */
        static Packing of(Gpt gpt) {
            float[][] live = linears(gpt);
            synchronized (OF) {
                Packing p = OF.get(gpt);
                if (p == null || !p.sameAs(live)) OF.put(gpt, p = new Packing(live));
                return p;
            }
        }

        private boolean sameAs(float[][] live) {
            for (int i = 0; i < live.length; i++) {
                if (!java.util.Arrays.equals(source[i], live[i])) return false;
            }
            return true;
        }
    }

    /** Linear i's weight and bias (null if it has none) of gpt at 2 i and 2 i + 1: per layer q, k, v, proj, expand, contract, then lm_head. */
    private static float[][] linears(Gpt gpt) {
        java.util.List<Linear> all = new java.util.ArrayList<>();
        for (Gpt.Block block : gpt.blocks) {
            Gpt.MultiHeadAttention sa = block.sa;
            java.util.Collections.addAll(all, sa.query, sa.key, sa.value, sa.proj, block.ffwd.expand, block.ffwd.contract);
        }
        all.add(gpt.lmHead);
        float[][] arrays = new float[2 * all.size()][];
        for (int i = 0; i < all.size(); i++) {
            arrays[2 * i] = all.get(i).weight.data();
            arrays[2 * i + 1] = all.get(i).bias == null ? null : all.get(i).bias.data();
        }
        return arrays;
    }

    /** Linears per layer in {@link #linears}. */
    private static final int LINEARS = 6;

    /** A decoder that runs on the calling thread. */
    public GptDecoder(Gpt gpt) {
        this(gpt, 1);
    }

    /**
     * A decoder whose tokens are computed by threads threads (at most one per head) when that is faster than
     * the caller alone; close it to end them.
     */
    public GptDecoder(Gpt gpt, int threads) {
        this(gpt, threads, true);
    }

    /** With adaptive false, every token is computed by the team, however slow (for tests and measurements). */
    public GptDecoder(Gpt gpt, int threads, boolean adaptive) {
        this.gpt = gpt;
        ModelConfig cfg = gpt.config();
        c = cfg.nEmbd();
        heads = cfg.nHead();
        headSize = c / heads;
        layers = cfg.nLayer();
        blockSize = cfg.blockSize();
        vocab = cfg.vocabSize();
        hidden = cfg.hidden();
        keyStride = Attention.keyCacheStride(blockSize);
        // each cache from a cache line's start, as the weights (attention reads them a vector at a time)
        cacheStart = CacheLines.firstAlignedFloat();
        keys = new float[layers][cacheStart + c * keyStride];
        values = new float[layers][cacheStart + blockSize * c];
        nextKeys = new float[layers][cacheStart + c * keyStride];
        nextValues = new float[layers][cacheStart + blockSize * c];
        keep = blockSize / 2;
        shift = blockSize - keep;
        tokens = new int[blockSize];

        projParts = new float[heads * ROWS * c];
        contractParts = new float[heads * ROWS * c];
        logits = new float[vocab];

        packing = Packing.of(gpt);
        whole = new Share(packed(1)[0], ROWS, c, hidden, keyStride);
        teamSize = Math.max(1, Math.min(threads, heads));
        pace = teamSize == 1 ? null : new Pace(adaptive, Math.max(1, blockSize / 2), teamSize + "," + cfg);
    }

    /** Every member's share for a team of size (1: the caller alone), packed at its first use. */
    private Packed[] packed(int size) {
        synchronized (packing) {
            Packed[] shares = packing.shares.get(size);
            if (shares == null) {
                shares = new Packed[size];
                for (int rank = 0; rank < size; rank++) shares[rank] = pack(packing.source, rank, size);
                packing.shares.put(size, shares);
            }
            return shares;
        }
    }

    /** Packs member rank's part of every Linear, source being the weights and biases in {@link #linears} order. */
    private Packed pack(float[][] source, int rank, int size) {
        int h0 = rank * heads / size, h1 = (rank + 1) * heads / size, own = (h1 - h0) * headSize;
        int[] vs = slice(vocab, rank, size);
        int from = groupStart(h0), ownHidden = groupStart(h1) - from; // its groups' hidden units
        int perLayer = MatVec.packedSize(c, 3 * own) + MatVec.packedSize(own, c) + MatVec.packedSize(c, ownHidden)
                + MatVec.packedSize(ownHidden, c);
        // from a cache line's start: every product's size is a whole number of vectors, so all of them start on one
        int start = CacheLines.firstAlignedFloat();
        float[] weights = new float[start + layers * perLayer + MatVec.packedSize(c, vs[1] - vs[0])];
        Product[] qkv = new Product[layers], proj = new Product[layers], expand = new Product[layers], contract = new Product[layers];
        int offset = start;
        for (int l = 0; l < layers; l++) {
            int at = 2 * LINEARS * l; // q, k, v, proj, expand, contract: weight, bias
            // q, k and v of its heads side by side: one product, its output q | k | v
            float[] w = new float[3 * own * c];
            float[] bias = null;
            for (int i = 0; i < 3; i++) {
                System.arraycopy(source[at + 2 * i], h0 * headSize * c, w, i * own * c, own * c);
                float[] b = source[at + 2 * i + 1];
                if (b != null) {
                    if (bias == null) bias = new float[3 * own];
                    System.arraycopy(b, h0 * headSize, bias, i * own, own);
                }
            }
            qkv[l] = pack(weights, w, c, 3 * own, 0, bias, offset);
            offset += MatVec.packedSize(c, 3 * own);
            // proj's inputs from its heads' channels, every output, summed in one part per head: no bias (added with the sum)
            proj[l] = pack(weights, inputs(source[at + 6], c, h0 * headSize, own), own, c, 0, null, offset);
            offset += MatVec.packedSize(own, c);
            // expand's columns of its groups, and contract's inputs from them
            float[] b = source[at + 9] == null ? null : java.util.Arrays.copyOfRange(source[at + 9], from, from + ownHidden);
            expand[l] = pack(weights, java.util.Arrays.copyOfRange(source[at + 8], from * c, (from + ownHidden) * c), c, ownHidden, 0, b, offset);
            offset += MatVec.packedSize(c, ownHidden);
            contract[l] = pack(weights, inputs(source[at + 10], hidden, from, ownHidden), ownHidden, c, 0, null, offset);
            offset += MatVec.packedSize(ownHidden, c);
        }
        int at = 2 * LINEARS * layers;
        Product lmHead = pack(weights, source[at], source[at + 1], c, vs, offset);
        int[] headCuts = new int[h1 - h0 + 1], groupCuts = new int[h1 - h0 + 1];
        for (int g = h0; g <= h1; g++) {
            headCuts[g - h0] = (g - h0) * headSize;
            groupCuts[g - h0] = groupStart(g) - from;
        }
        return new Packed(h0, h1, own, weights, qkv, proj, expand, contract, lmHead, headCuts, groupCuts);
    }

    /** Inputs [from, from + count) of a Linear's (out, in) weight, for every output: an (out, count) weight. */
    private static float[] inputs(float[] weight, int in, int from, int count) {
        int out = weight.length / in;
        float[] w = new float[out * count];
        for (int j = 0; j < out; j++) System.arraycopy(weight, j * in + from, w, j * count, count);
        return w;
    }

    /** Member rank's columns [from, to) of n: whole {@link #SLICE}s, as even as they come. */
    private static int[] slice(int n, int rank, int size) {
        int units = (n + SLICE - 1) / SLICE;
        int from = Math.min(n, rank * units / size * SLICE), to = Math.min(n, (rank + 1) * units / size * SLICE);
        return new int[] {from, to};
    }

    /**
     * Reports attention weights to recorder from now on (null: stop). While it records, the caller computes
     * every token alone, so the recorder is called from its thread, one head after another.
     */
    public void recordAttention(AttentionRecorder recorder) {
        this.recorder = recorder;
    }

    /** Forgets the context. */
    public void reset() {
        waitForFollower();
        length = 0;
    }

    /** Appends a token and returns the logits for the token after it (a buffer reused by the next call). */
    public float[] next(int token) {
        long start = System.nanoTime();
        if (length == blockSize) { // full: the next window, its keys and values already cached, takes over
            waitForFollower();
            float[][] k = keys, v = values;
            keys = nextKeys;
            values = nextValues;
            nextKeys = k;
            nextValues = v;
            System.arraycopy(tokens, shift, tokens, 0, keep);
            length = keep;
        }
        tokens[length] = token;
        // Tokens are timed once the context holds the next window too (two rows each, as from then on): a
        // probe of the first, cheaper tokens would not compare like with like. Those go the way last chosen.
        boolean mayTeam = pace != null && recorder == null, paced = mayTeam && length >= shift;
        encode(mayTeam && (teamAt != null ? teamAt.test(length) : paced ? pace.useTeam() : pace.prefersTeam()), mayTeam);
        if (paced) pace.took(System.nanoTime() - start);
        return logits;
    }

    /** The team, once a token has run on it (for tests). */
    Team team() {
        return team;
    }

    /** Hands the team's threads on to the next decoder, or ends them (nothing to do on one thread). The decoder cannot be used after. */
    @Override
    public void close() {
        if (team != null) {
            try {
                team.drain(); // member 1's last rows are done before it serves another decoder (or fail here, not there)
            } finally {
                giveBack(team);
            }
        }
        team = null;
    }

    /**
     * Teams of closed decoders, kept for the next ones: generation makes a decoder per reply (bench: per
     * round of 500 tokens), and a new team's threads start, then run their first tokens on cold caches. At
     * most {@link #IDLE_TEAMS} are kept; their threads sleep while idle.
     */
    private static final java.util.ArrayDeque<Team> IDLE = new java.util.ArrayDeque<>();
    private static final int IDLE_TEAMS = 2;

    private static Team takeTeam(int size) {
        synchronized (IDLE) {
            for (java.util.Iterator<Team> it = IDLE.iterator(); it.hasNext(); ) {
                Team t = it.next();
                if (t.size() == size) {
                    it.remove();
                    return t;
                }
            }
        }
        return new Team(size);
    }

    private static void giveBack(Team team) {
        if (!team.isOpen()) return; // a member failed: its threads are ending
        synchronized (IDLE) {
            if (IDLE.size() < IDLE_TEAMS) {
                IDLE.push(team);
                return;
            }
        }
        team.close();
    }

    /**
     * Chooses between the team and the caller alone by timing both now and then: a team is only faster
     * when its threads really run at once, which depends on what else the machine is doing (and, on a
     * virtual machine, on whether its processors share a core). Both give the same floats, so the choice
     * changes only the speed.
     *
     * <p>Time is compared over windows of block_size/2 tokens: a window on the team, then one alone, each
     * judged by its median token, without its first (which pays for starting or waking the team's threads,
     * a third of a millisecond, sometimes far more, on this project's virtual machine). A median, not a sum:
     * one token held up by the system for a few milliseconds (a token takes 10-50 microseconds) made a team
     * twice as fast lose. Then the faster way runs for a while: {@link #RUN} windows, twice as many each
     * time the same way wins again, up to {@link #MAX_RUN}, so a machine where one way keeps winning pays for
     * few probes (each window alone in a team's run cost about 2% of seed's tokens, and more in the team's
     * next window, whose weights the caller's had pushed out of the cache). Three bounds keep a wrong choice
     * short: a run ends after {@link #MAX_RUN_NANOS} of tokens (the first choices are made while the JIT is
     * still compiling the team's code, which then loses several probes in a row); a team's run ends as soon
     * as a window's median token takes half again as long as the probe's (on this project's virtual machine
     * the two processors are at times far apart for seconds: a cache line's round trip takes 0.6 us instead
     * of 0.12, and a team's token twice as long); and a probe of the team stops as soon as its tokens took
     * twice what the last window alone took, so probing a team that is much slower costs little.
     *
     * <p>A new decoder of the same model shape and thread count goes on where the last one stood (its choice,
     * and how far it is into its run): a chat, or bench's rounds of a few hundred tokens, would otherwise
     * probe at every reply.
     *
     * <p>A team's first tokens run code that the JIT has not compiled yet (the team's narrower products take
     * branches and kernels that the caller's never do), a hundred times slower than once compiled; and code is
     * compiled only after it has run often. A team that lost its first probes, and so was probed ever more
     * rarely, stayed that slow for good: in bench's generation, on this project's virtual machine, the team
     * (6.9 us a seed token) lost every probe to the caller alone (8.8). So until the team has run
     * {@link #WARM_TOKENS} tokens, a lost probe is followed by a single window alone, then the next probe.
     */
    static final class Pace {
        static final int RUN = 14, MAX_RUN = 1024;
        /** Team tokens after which the JIT has compiled the team's code (seed: 400 to 800, probed every 200 tokens). */
        static final int WARM_TOKENS = 2000;
        /** The longest run, in its tokens' time, before the next probe. */
        static final long MAX_RUN_NANOS = 200_000_000L;
        /** Per model shape and thread count, where the last decoder stood (see {@link #save}). */
        private static final java.util.Map<String, long[]> LAST = new java.util.concurrent.ConcurrentHashMap<>();
        private final boolean adaptive;
        private final int window, warmTokens;
        private final String key;
        /** The token times of the window being timed (a probe's, or a team's run's), and how many. */
        private final long[] times;
        private int tokens, timed, windowIndex, run = RUN;
        /** The last probe's team window's median (Long.MAX_VALUE if it was stopped), its alone window's, and the current run's time. */
        private long teamMedian, aloneMedian, runNanos;
        /** Tokens the team has run for this shape, up to warmTokens. */
        private long teamTokens;
        private boolean team = true;

        Pace(boolean adaptive, int window, String key) {
            this(adaptive, window, key, WARM_TOKENS);
        }

        /** With warmTokens 0, a lost probe always doubles the run alone (for tests of the runs). */
        Pace(boolean adaptive, int window, String key, int warmTokens) {
            this.adaptive = adaptive;
            this.window = window;
            this.warmTokens = warmTokens;
            this.key = key;
            times = new long[window];
            long[] last = LAST.get(key);
            if (adaptive && last != null) {
                team = last[0] == 1;
                run = (int) last[1];
                windowIndex = (int) last[2];
                aloneMedian = last[3];
                runNanos = last[4];
                teamMedian = last[5];
                teamTokens = last[6];
            }
        }

        boolean useTeam() {
            if (!adaptive) return true;
            return windowIndex == 0 || windowIndex > 1 && team;
        }

        /** For tokens that are not timed: the way the last comparison chose. */
        boolean prefersTeam() {
            return !adaptive || team;
        }

        /** One token took nanos. */
        void took(long nanos) {
            if ((windowIndex == 0 || windowIndex > 1 && team) && teamTokens < warmTokens) teamTokens++; // as useTeam chose
            if ((windowIndex <= 1 || team) && (tokens > 0 || window == 1)) times[timed++] = nanos;
            if (windowIndex > 1) runNanos += nanos;
            boolean stop = windowIndex == 0 && aloneMedian > 0 && sum(times, timed) > 2 * aloneMedian * Math.max(1, window - 1);
            if (++tokens < window && !stop) return;
            tokens = 0;
            if (windowIndex == 0) teamMedian = stop ? Long.MAX_VALUE : median(times, timed);
            if (windowIndex == 1) {
                aloneMedian = median(times, timed);
                boolean won = teamMedian <= aloneMedian;
                // the same way again: a run twice as long; the team after alone: RUN; alone after the team: 2 RUN
                run = won == team ? Math.min(MAX_RUN, 2 * run) : won ? RUN : 2 * RUN;
                if (!won && teamTokens < warmTokens) run = 1; // its code may not be compiled yet: probe it again soon
                team = won;
                runNanos = 0;
            }
            boolean slower = windowIndex > 1 && team && 2 * median(times, timed) > 3 * teamMedian;
            timed = 0;
            boolean runOver = windowIndex == run + 1 || windowIndex > 1 && (runNanos >= MAX_RUN_NANOS || slower);
            windowIndex = runOver ? 0 : windowIndex + 1;
            if (adaptive && windowIndex != 1) save();
        }

        /** Where this decoder stands, for the next one: never between the two windows of a probe. */
        private void save() {
            LAST.put(key, new long[] {team ? 1 : 0, run, windowIndex, aloneMedian, runNanos, teamMedian, teamTokens});
        }

        private static long sum(long[] t, int n) {
            long s = 0;
            for (int i = 0; i < n; i++) s += t[i];
            return s;
        }

        /** The median of t[0 .. n), sorted in place (a window's times are not read again): no copy per window. */
        private static long median(long[] t, int n) {
            if (n == 0) return 0;
            java.util.Arrays.sort(t, 0, n);
            return t[n / 2];
        }
    }

    /**
     * Runs the model on the new token at position length, caching its keys and values, and leaves its logits
     * in {@link #logits}. From position {@link #shift} on, the token belongs to the next window too, and is
     * encoded at its position there as a second row: by the team, by the caller with its own, or, when the
     * caller alone computes the token and may have the team's help (mayFollow), by the team's member 1 (see
     * {@link Follow}) while the caller computes the first row. That row's results are needed only when the
     * window is full, so the caller waits for them only then, or before it or the team next write the next
     * window themselves: one handover every few tokens instead of two a layer.
     */
    private void encode(boolean onTeam, boolean mayFollow) {
        int p0 = length, n = keep > 0 && p0 >= shift ? 2 : 1, token = tokens[p0];
        if (onTeam) { // the team's run first waits for member 1's next-window rows, which its own rows read
            if (shares == null) {
                Packed[] packed = packed(teamSize);
                shares = new Share[teamSize];
                for (int rank = 0; rank < teamSize; rank++) shares[rank] = new Share(packed[rank], ROWS, c, hidden, keyStride);
            }
            if (team == null) team = takeTeam(teamSize);
            team.run(rank -> encode(shares[rank], rank, p0, token, 0, n, team, projParts, contractParts));
        } else if (n == 2 && mayFollow) {
            if (follow == null) follow = new Follow();
            if (team == null) team = takeTeam(teamSize);
            team.post(follow, (long) p0 << 32 | token); // member 1 encodes the next window's row
            encode(whole, 0, p0, token, 0, 1, null, projParts, contractParts);
        } else {
            waitForFollower();
            encode(whole, 0, p0, token, 0, n, null, projParts, contractParts);
        }
        length++;
    }

    /** Waits until the team's member 1 has encoded every next-window row posted to it. */
    private void waitForFollower() {
        if (team != null) team.drain();
    }

    /**
     * The next window's rows that the team's member 1 encodes while the caller alone computes the new token's
     * row: its own share and parts (the caller's are in use meanwhile).
     */
    private final class Follow implements Team.Job {
        final Share share = new Share(packed(1)[0], ROWS, c, hidden, keyStride);
        final float[] projParts = new float[heads * ROWS * c], contractParts = new float[heads * ROWS * c];

        /** arg: the position in this window (high half) and the token. */
        @Override
        public void run(long arg) {
            encode(share, 0, (int) (arg >>> 32), (int) arg, 1, 2, null, projParts, contractParts);
        }
    }

    /**
     * Member rank's part of {@link #encode}, from its share: rows t0 .. t1-1 of the token (row 0 at position p0 of this
     * window, row 1 at position p0 - shift of the next), its row t at row t - t0 of the share's arrays. With a
     * team (meet), every member runs through the same awaits; the caller alone with the whole share needs none.
     */
    private void encode(Share s, int rank, int p0, int token, int t0, int t1, Team meet, float[] projParts, float[] contractParts) {
        int own = s.own, q0 = s.h0 * headSize, n = t1 - t0; // q0: its heads' first channel
        float[] tok = gpt.tokenEmbeddingTable.weight.data(), posEmb = gpt.positionEmbeddingTable.weight.data();
        for (int t = t0; t < t1; t++) {
            int pos = t == 0 ? p0 : p0 - shift, r = t - t0;
            for (int i = 0; i < c; i++) s.x[r * c + i] = tok[token * c + i] + posEmb[pos * c + i];
        }
        for (int l = 0; l < layers; l++) {
            Gpt.Block block = gpt.blocks.get(l);
            // x = x + proj(attention(ln1(x)))
            layerNorm(block.ln1, s.x, s, n);
            product(s.qkv[l], s, s.h, s.qkvOut, 3 * own, n, Then.STORE);
            for (int t = t0; t < t1; t++) {
                float[] k = t == 0 ? keys[l] : nextKeys[l], v = t == 0 ? values[l] : nextValues[l];
                int row = (t - t0) * 3 * own, pos = t == 0 ? p0 : p0 - shift;
                for (int i = 0; i < own; i++) k[cacheStart + (q0 + i) * keyStride + pos] = s.qkvOut[row + own + i];
                System.arraycopy(s.qkvOut, row + 2 * own, v, cacheStart + pos * c + q0, own);
            }
            // The next window's row feeds nothing after the last layer: there only its keys and values count.
            int rows = l < layers - 1 ? n : t0 == 0 ? 1 : 0;
            if (rows == 0) return;
            for (int r = 0; r < rows; r++) { // a position sees its window's positions up to itself: causal, as in training
                // q of head h at qkvOut[r * 3 * own + (h - h0) * head_size], as decode reads it from qOff + h * head_size;
                // head h's output at att[r * own + (h - h0) * head_size], where decode writes it at outOff + h * head_size
                int t = t0 + r;
                s.qOff[r] = r * 3 * own - q0;
                s.outOff[r] = r * own - q0;
                s.positions[r] = (t == 0 ? p0 : p0 - shift) + 1;
                s.keyRows[r] = (t == 0 ? keys : nextKeys)[l];
                s.valueRows[r] = (t == 0 ? values : nextValues)[l];
            }
            Attention.decode(s.qkvOut, s.qOff, s.keyRows, keyStride, s.valueRows, cacheStart, s.att, s.outOff, s.scores, s.positions, rows, c,
                    heads, s.h0, s.h1);
            if (recorder != null) recordWeights(l, p0, s.qkvOut, s.qOff[0]);
            inParts(s.proj[l], s, s.att, projParts, s.headCuts, rows);
            if (meet != null) meet.await(rank); // every head's part of proj is written
            addParts(s, projParts, packing.source[2 * LINEARS * l + 7], rows);
            // x = x + ffwd(ln2(x))
            layerNorm(block.ln2, s.x, s, rows);
            product(s.expand[l], s, s.h, s.ff, s.expand[l].out(), rows, Then.RELU);
            inParts(s.contract[l], s, s.ff, contractParts, s.groupCuts, rows);
            if (meet != null) meet.await(rank); // every group's part of contract is written
            addParts(s, contractParts, packing.source[2 * LINEARS * l + 11], rows);
        }
        layerNorm(gpt.lnF, s.x, s, 1);
        product(s.lmHead, s, s.h, logits, vocab, 1, Then.STORE);
    }

    /** Rows 0 .. rows-1 of the product, in parts at cuts: the part of its head or group h0 + i to parts row (h0 + i) * ROWS + t. */
    private void inParts(Product p, Share s, float[] in, float[] parts, int[] cuts, int rows) {
        MatVec.applyInParts(in, p.in, s.weights, p.offset, parts, s.h0 * ROWS * c, c, ROWS * c, 0, rows, p.in, cuts, c);
    }

    /**
     * The share's residual rows += (the parts of every head or group, added in head order) + bias: the same
     * sum whichever member wrote each part. The other members read the same parts while this one does, and
     * nobody writes them again before the next await.
     */
    private void addParts(Share s, float[] parts, float[] bias, int rows) {
        for (int t = 0; t < rows; t++) MatVec.addParts(parts, t * c, ROWS * c, heads, bias, s.x, t * c, c);
    }

    /**
     * Each head's weights for one position, softmax(q·k / sqrt(head_size)) over the cached keys, as the
     * attention kernel computes them to within rounding (it keeps only one head's at a time, so they are
     * computed again here). Head h's q is at q[qOff + h * head_size ..].
     */
    private void recordWeights(int layer, int pos, float[] q, int qOff) {
        int hs = headSize, positions = pos + 1;
        float scale = (float) (1.0 / Math.sqrt(hs));
        float[] row = new float[positions];
        for (int head = 0; head < heads; head++) {
            for (int s = 0; s < positions; s++) {
                float dot = 0f;
                for (int d = head * hs; d < (head + 1) * hs; d++) dot += q[qOff + d] * keys[layer][cacheStart + d * keyStride + s];
                row[s] = dot * scale;
            }
            dev.toygpt.kernels.Softmax.forward(row, row, 1, positions);
            recorder.record(layer, head, pos, row, positions);
        }
    }

    /** Rows 0 .. rows-1 of the product: in's row r at r * p.in, out's at p.outStart + r * outStride (then)= in · W + bias. */
    private static void product(Product p, Share s, float[] in, float[] out, int outStride, int rows, Then then) {
        MatVec.applyRows(in, s.weights, p.offset, p.bias, out, p.outStart, outStride, 0, rows, p.in, p.out, then);
    }

    private void layerNorm(dev.toygpt.nn.LayerNorm ln, float[] in, Share s, int n) {
        LayerNorm.forwardOnThisThread(in, ln.weight.data(), ln.bias.data(), s.h, s.mean, s.rstd, n, c, dev.toygpt.nn.LayerNorm.EPS, s.lanes,
                CacheLines.firstAlignedFloat());
    }

    /** Packs columns [cols[0], cols[1]) of a Linear (the rows of its (out, in) weight; bias may be null) into weights at offset. */
    private static Product pack(float[] weights, float[] weight, float[] bias, int in, int[] cols, int offset) {
        int from = cols[0], n = cols[1] - cols[0];
        float[] w = java.util.Arrays.copyOfRange(weight, from * in, (from + n) * in);
        float[] b = bias == null ? null : java.util.Arrays.copyOfRange(bias, from, from + n);
        return pack(weights, w, in, n, from, b, offset);
    }

    private static Product pack(float[] weights, float[] w, int in, int out, int outStart, float[] bias, int offset) {
        MatVec.pack(w, in, out, weights, offset);
        return new Product(offset, in, out, outStart, bias);
    }

    public int vocabSize() {
        return vocab;
    }
}
