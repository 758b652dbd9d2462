package dev.jformers.core;

/**
 * The intermediates of one block of model code. Every tensor the backend produces on this thread while the
 * scope is open is handed back for reuse when it closes — except those {@link #keep kept} (the block's
 * output, hidden states or attention maps the caller asked for), which pass to the enclosing scope. Memory
 * handling then stays out of the math:
 * <pre>
 *   try (Scope scope = backend.scope()) {
 *       Tensor h = intermediate.forward(a);      // dies with the scope
 *       return scope.keep(output.forward(h, a));
 *   }
 * </pre>
 * Scopes nest and must be closed innermost first, on the thread that opened them.
 */
public interface Scope extends AutoCloseable {

    /** Hands nothing back: backends without reuse, and training, which keeps every activation for its backward. */
    Scope NONE = new Scope() {
        @Override
        public Tensor keep(Tensor t) {
            return t;
        }

        @Override
        public void close() {
        }
    };

    /** {@code t} (and its storage) outlives this scope; returns t. Null is allowed and ignored. */
    Tensor keep(Tensor t);

    /** {@link #keep} for an attention output: its context and, when present, its probabilities. */
    default AttentionOutput keep(AttentionOutput out) {
        keep(out.context());
        keep(out.probs());
        return out;
    }

    @Override
    void close();
}
