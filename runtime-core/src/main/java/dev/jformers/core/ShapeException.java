package dev.jformers.core;

import java.util.Arrays;

/** A tensor of the wrong shape or dtype reached an operation; the message names both. */
public class ShapeException extends JformersException {
    public ShapeException(String message) {
        super(message);
    }

    /** "op: expected what, got [shape]". */
    public static ShapeException of(String op, String expected, int[] actual) {
        return new ShapeException(op + ": expected " + expected + ", got " + Arrays.toString(actual));
    }

    /** "op: shapes [a] and [b] don't match (why)". */
    public static ShapeException mismatch(String op, int[] a, int[] b, String why) {
        return new ShapeException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                + " don't match (" + why + ")");
    }
}
