package dev.panomni.nn;

/**
 * A mixture-of-experts module whose routed rows go through an {@link ExpertExecutor} that outside
 * code may replace (expert parallelism). Its stacked expert parameters ([experts, ...]) then hold
 * only the experts this rank owns.
 */
public interface PluggableExperts {
    /** Routed experts of the layer (all ranks together). */
    int expertCount();

    /** The executor in use ({@link ExpertExecutor#LOCAL} unless replaced). */
    ExpertExecutor expertExecutor();

    /** Replaces the executor; null restores {@link ExpertExecutor#LOCAL}. */
    void setExpertExecutor(ExpertExecutor executor);
}
