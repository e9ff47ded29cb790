package dev.panomni.bench.parallel;

/**
 * One rank's share of a measurement ({@link ScalingRunner}).
 *
 * @param seconds    each timed step's wall time on this rank (steps end at a barrier, so the ranks agree)
 * @param peakBytes  the device pool's high-water mark over the steps, or -1 on the CPU
 * @param parameters the model's parameter count before sharding
 */
record RankResult(double[] seconds, long peakBytes, long parameters) {
}
