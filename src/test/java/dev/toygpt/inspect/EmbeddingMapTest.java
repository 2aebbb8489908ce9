package dev.toygpt.inspect;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PCA of embedding tables whose principal axes are known by construction. */
class EmbeddingMapTest {
    @Test
    void pointsSpreadAlongKnownAxesAreFoundWithTheirShareOfVariance() {
        // 4-dimensional points on an ellipse: large spread along (1,1,0,0)/√2, smaller along (0,0,1,0), none
        // elsewhere; cos and sin over a full turn are uncorrelated, so these are exactly the principal axes
        int n = 50, c = 4;
        float[] table = new float[n * c];
        double[] a = new double[n], b = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = 3 * Math.cos(2 * Math.PI * i / n);
            b[i] = Math.sin(2 * Math.PI * i / n);
            table[i * c] = (float) (a[i] / Math.sqrt(2)) + 7; // an offset, which PCA removes
            table[i * c + 1] = (float) (a[i] / Math.sqrt(2));
            table[i * c + 2] = (float) b[i];
            table[i * c + 3] = 2;
        }
        EmbeddingMap map = EmbeddingMap.of(table, n, c);
        double meanA = java.util.Arrays.stream(a).average().orElseThrow(), meanB = java.util.Arrays.stream(b).average().orElseThrow();
        double varA = 0, varB = 0;
        for (int i = 0; i < n; i++) {
            varA += (a[i] - meanA) * (a[i] - meanA);
            varB += (b[i] - meanB) * (b[i] - meanB);
        }
        assertEquals(varA / (varA + varB), map.explained()[0], 1e-4);
        assertEquals(varB / (varA + varB), map.explained()[1], 1e-4);
        // the coordinates are the centred values along each axis, up to sign
        double sign0 = Math.signum(map.points()[0][0] * (a[0] - meanA)), sign1 = Math.signum(map.points()[n / 4][1] * (b[n / 4] - meanB));
        for (int i = 0; i < n; i++) {
            assertEquals(sign0 * (a[i] - meanA), map.points()[i][0], 1e-4);
            assertEquals(sign1 * (b[i] - meanB), map.points()[i][1], 1e-4);
        }
    }

    @Test
    void modelsWithATableAreMappedTheOneHotMlpHasNone() {
        LanguageModel gpt = LanguageModel.create(ModelConfig.gpt(9, 8, 2, 1, 4, 0f), new Rng(2));
        EmbeddingMap m = EmbeddingMap.of(gpt);
        assertEquals(9, m.points().length);
        assertTrue(m.explained()[0] >= m.explained()[1] && m.explained()[1] > 0);
        assertTrue(EmbeddingMap.hasTable(LanguageModel.create(ModelConfig.bigram(9, 4), new Rng(2))));
        assertTrue(EmbeddingMap.hasTable(LanguageModel.create(ModelConfig.mlpEmbedding(9, 3, 8, 4), new Rng(2))));
        LanguageModel onehot = LanguageModel.create(ModelConfig.mlpOneHot(9, 8, 4), new Rng(2));
        assertFalse(EmbeddingMap.hasTable(onehot));
        assertThrows(IllegalArgumentException.class, () -> EmbeddingMap.of(onehot));
    }
}
