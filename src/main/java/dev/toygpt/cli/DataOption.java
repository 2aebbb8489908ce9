package dev.toygpt.cli;

import dev.toygpt.text.Corpus;
import dev.toygpt.text.DefaultCorpus;

/** Turns a --data argument into a corpus: 'shakespeare' is the default corpus, anything else a file. */
final class DataOption {
    private DataOption() {}

    static Corpus load(String data) {
        return Corpus.load(DefaultCorpus.resolve(data));
    }
}
