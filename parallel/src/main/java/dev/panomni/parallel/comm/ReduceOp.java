package dev.panomni.parallel.comm;

/** How a reducing collective combines the ranks' values. AVG divides the sum by the group size. */
public enum ReduceOp { SUM, AVG, MAX, MIN }
