package dev.jformers.spark;

import scala.jdk.javaapi.CollectionConverters;

import java.util.List;

/** Spark's external type for an array column: a Scala Seq. */
final class Rows {
    private Rows() {
    }

    static <E> scala.collection.immutable.Seq<E> seq(List<E> list) {
        return CollectionConverters.asScala(list).toList();
    }
}
