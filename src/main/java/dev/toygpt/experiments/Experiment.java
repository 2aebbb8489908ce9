package dev.toygpt.experiments;

import java.io.IOException;

/** One of the course's experiments: trains a few small models and reports what they show. */
public interface Experiment {
    /** The command-line name, such as "block-size". */
    String name();

    /** One line for the help text. */
    String summary();

    /** Trains, writes charts into the context's directory, and returns the table and conclusion. */
    Report run(ExperimentContext context) throws IOException;
}
