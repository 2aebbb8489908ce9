package dev.toygpt.autograd;

/** Turns gradient recording off for evaluation and generation, like PyTorch's {@code torch.no_grad()}. */
public final class GradMode {
    private static final ThreadLocal<Integer> DISABLED_DEPTH = ThreadLocal.withInitial(() -> 0);

    private GradMode() {}

    public static boolean isEnabled() {
        return DISABLED_DEPTH.get() == 0;
    }

    /** Use in try-with-resources: {@code try (var off = GradMode.off()) { ... }}. */
    public static Scope off() {
        DISABLED_DEPTH.set(DISABLED_DEPTH.get() + 1);
        return new Scope();
    }

    /** Restores gradient recording when closed. */
    public static final class Scope implements AutoCloseable {
        private Scope() {}

        private boolean closed;

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                DISABLED_DEPTH.set(DISABLED_DEPTH.get() - 1);
            }
        }
    }
}
