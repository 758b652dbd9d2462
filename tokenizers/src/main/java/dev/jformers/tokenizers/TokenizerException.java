package dev.jformers.tokenizers;

/** Any failure of this module: unreadable or unsupported tokenizer files, invalid arguments. */
public class TokenizerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
