package dev.toygpt.models;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The four models of the course, with their command-line names. */
public enum ModelKind {
    BIGRAM("bigram"),
    MLP_ONEHOT("mlp-onehot"),
    MLP_EMBEDDING("mlp-embedding"),
    GPT("gpt");

    private final String cliName;

    ModelKind(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** Accepts the command-line name, or the PyTorch fixture name (mlp_onehot). */
    public static ModelKind parse(String name) {
        String n = name.trim().toLowerCase().replace('_', '-');
        for (ModelKind k : values()) if (k.cliName.equals(n)) return k;
        throw new IllegalArgumentException("unknown model '" + name + "'; choose one of "
                + Arrays.stream(values()).map(ModelKind::cliName).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return cliName;
    }
}
