package dev.toygpt.tour;

import dev.toygpt.text.Vocabulary;

import java.util.List;

/**
 * Step 2: the character-level tokenizer.
 *
 * @param codePoints  every character of the vocabulary in id order
 * @param indexOfK    the id of 'k', or -1 when the text has no 'k'
 * @param charAt12    the character (code point) with id 12, or -1 when there are fewer than 13
 * @param sample      the string encoded as an example ({@link Tour#SAMPLE})
 * @param sampleIds   its ids; characters not in the vocabulary are left out (see dropped)
 * @param decoded     the ids turned back into text
 * @param dropped     the characters of the sample the vocabulary does not have
 * @param firstIds    the ids of the first {@link Tour#PREVIEW_CHARS} characters of the text
 */
public record VocabularyStep(int[] codePoints, int indexOfK, int charAt12, String sample, int[] sampleIds,
                             String decoded, List<Vocabulary.Unknown> dropped, int[] firstIds) {
    public int size() {
        return codePoints.length;
    }

    public boolean hasK() {
        return indexOfK >= 0;
    }

    public boolean hasIndex12() {
        return charAt12 >= 0;
    }
}
