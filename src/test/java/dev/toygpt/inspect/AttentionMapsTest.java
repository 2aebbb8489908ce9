package dev.toygpt.inspect;

import dev.toygpt.autograd.GradMode;
import dev.toygpt.models.Gpt;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.nn.StateDict;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The attention maps against a forward pass written out in plain loops from the state dict (PyTorch names). */
class AttentionMapsTest {
    private static final int V = 11, C = 12, HEADS = 3, LAYERS = 2, BLOCK = 8;

    /** A GPT with sharp attention: its keys and queries scaled up, so the maps are far from uniform. */
    private static Gpt model() {
        Gpt gpt = new Gpt(ModelConfig.gpt(V, C, HEADS, LAYERS, BLOCK, 0f), new Rng(3));
        for (var e : gpt.stateDict().entries().entrySet()) {
            if (e.getKey().endsWith("key.weight") || e.getKey().endsWith("query.weight")) {
                float[] w = e.getValue().read();
                for (int i = 0; i < w.length; i++) w[i] *= 25;
                e.getValue().write(w);
            }
        }
        gpt.train(false);
        return gpt;
    }

    @Test
    void everyRowIsTheSoftmaxOfThePlainForwardPass() {
        Gpt gpt = model();
        int[] tokens = {3, 1, 4, 1, 5, 9, 2, 6};
        AttentionMaps maps = AttentionMaps.of(gpt, tokens);
        Reference ref = new Reference(gpt.stateDict().entries(), tokens);

        // the reference is right: its logits are the model's
        float[] logits;
        try (var off = GradMode.off()) {
            logits = gpt.forward(tokens, 1, tokens.length).data();
        }
        for (int t = 0; t < tokens.length; t++) {
            for (int v = 0; v < V; v++) assertEquals(ref.logits[t][v], logits[t * V + v], 1e-4, "logit " + t + "," + v);
        }
        assertEquals(LAYERS, maps.layers());
        assertEquals(HEADS, maps.heads());
        double maxWeight = 0;
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) {
                for (int q = 0; q < tokens.length; q++) {
                    float sum = 0;
                    for (int k = 0; k < tokens.length; k++) {
                        float w = maps.weights()[l][h][q][k];
                        if (k > q) assertEquals(0f, w, "causal");
                        else assertEquals(ref.attention[l][h][q][k], w, 2e-4, l + "," + h + "," + q + "," + k);
                        sum += w;
                        if (q > 2) maxWeight = Math.max(maxWeight, w);
                    }
                    assertEquals(1f, sum, 1e-5);
                }
            }
        }
        assertTrue(maxWeight > 0.5, "sharp maps, a meaningful comparison: " + maxWeight);
    }

    @Test
    void shorterTextsGiveSmallerMapsAndTooLongOnesAreRefused() {
        Gpt gpt = model();
        AttentionMaps one = AttentionMaps.of(gpt, new int[]{7});
        assertEquals(1, one.weights()[0][0].length);
        assertEquals(1f, one.weights()[1][2][0][0]);
        assertThrows(IllegalArgumentException.class, () -> AttentionMaps.of(gpt, new int[BLOCK + 1]));
        assertThrows(IllegalArgumentException.class, () -> AttentionMaps.of(gpt, new int[0]));
    }

    /** The lecture's forward pass in double precision, one position and head at a time. */
    private static final class Reference {
        final double[][] logits;
        final double[][][][] attention = new double[LAYERS][HEADS][][];

        Reference(Map<String, StateDict.Entry> sd, int[] tokens) {
            int t = tokens.length, hs = C / HEADS;
            float[] tok = sd.get("token_embedding_table.weight").read(), pos = sd.get("position_embedding_table.weight").read();
            double[][] x = new double[t][C];
            for (int i = 0; i < t; i++) for (int c = 0; c < C; c++) x[i][c] = tok[tokens[i] * C + c] + pos[i * C + c];
            for (int l = 0; l < LAYERS; l++) {
                String b = "blocks." + l + ".";
                double[][] h = layerNorm(x, sd, b + "ln1");
                double[][] heads = new double[t][C];
                for (int head = 0; head < HEADS; head++) {
                    String p = b + "sa.heads." + head + ".";
                    double[][] k = linear(h, sd.get(p + "key.weight").read(), null, hs);
                    double[][] q = linear(h, sd.get(p + "query.weight").read(), null, hs);
                    double[][] v = linear(h, sd.get(p + "value.weight").read(), null, hs);
                    double[][] att = new double[t][t];
                    for (int i = 0; i < t; i++) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j <= i; j++) {
                            double s = 0;
                            for (int d = 0; d < hs; d++) s += q[i][d] * k[j][d];
                            att[i][j] = s / Math.sqrt(hs);
                            max = Math.max(max, att[i][j]);
                        }
                        double sum = 0;
                        for (int j = 0; j <= i; j++) sum += att[i][j] = Math.exp(att[i][j] - max);
                        for (int j = 0; j <= i; j++) att[i][j] /= sum;
                        for (int d = 0; d < hs; d++) {
                            double o = 0;
                            for (int j = 0; j <= i; j++) o += att[i][j] * v[j][d];
                            heads[i][head * hs + d] = o;
                        }
                    }
                    attention[l][head] = att;
                }
                add(x, linear(heads, sd.get(b + "sa.proj.weight").read(), sd.get(b + "sa.proj.bias").read(), C));
                double[][] f = linear(layerNorm(x, sd, b + "ln2"), sd.get(b + "ffwd.net.0.weight").read(), sd.get(b + "ffwd.net.0.bias").read(), 4 * C);
                for (double[] row : f) for (int i = 0; i < row.length; i++) row[i] = Math.max(0, row[i]);
                add(x, linear(f, sd.get(b + "ffwd.net.2.weight").read(), sd.get(b + "ffwd.net.2.bias").read(), C));
            }
            logits = linear(layerNorm(x, sd, "ln_f"), sd.get("lm_head.weight").read(), sd.get("lm_head.bias").read(), V);
        }

        private static double[][] linear(double[][] x, float[] w, float[] bias, int out) {
            int in = x[0].length;
            double[][] y = new double[x.length][out];
            for (int i = 0; i < x.length; i++) {
                for (int o = 0; o < out; o++) {
                    double s = bias == null ? 0 : bias[o];
                    for (int c = 0; c < in; c++) s += w[o * in + c] * x[i][c];
                    y[i][o] = s;
                }
            }
            return y;
        }

        private static double[][] layerNorm(double[][] x, Map<String, StateDict.Entry> sd, String name) {
            float[] g = sd.get(name + ".weight").read(), b = sd.get(name + ".bias").read();
            double[][] y = new double[x.length][x[0].length];
            for (int i = 0; i < x.length; i++) {
                double mean = 0, var = 0;
                for (double v : x[i]) mean += v;
                mean /= x[i].length;
                for (double v : x[i]) var += (v - mean) * (v - mean);
                var /= x[i].length;
                for (int c = 0; c < x[i].length; c++) y[i][c] = (x[i][c] - mean) / Math.sqrt(var + 1e-5) * g[c] + b[c];
            }
            return y;
        }

        private static void add(double[][] x, double[][] y) {
            for (int i = 0; i < x.length; i++) for (int c = 0; c < x[i].length; c++) x[i][c] += y[i][c];
        }
    }
}
