package dev.jformers.tokenizers;

/** Which end of a sequence padding is added to. */
public enum Side {
    LEFT,
    RIGHT
}
