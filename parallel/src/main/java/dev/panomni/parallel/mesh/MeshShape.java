package dev.panomni.parallel.mesh;

/**
 * Sizes of the mesh dimensions. {@link #validate} checks every rule and names the one that fails.
 *
 * @param dpReplicate HSDP replicas (1 = plain FSDP)
 * @param dpShard     FSDP shards per replica
 * @param sp          sequence-parallel degree
 * @param ep          expert-parallel degree, carved out of dpShard x sp
 */
public record MeshShape(int dpReplicate, int dpShard, int sp, int ep) {
    public MeshShape {
        check(dpReplicate >= 1, "dp_replicate must be >= 1, got " + dpReplicate);
        check(dpShard >= 1, "dp_shard must be >= 1, got " + dpShard);
        check(sp >= 1, "sp must be >= 1, got " + sp);
        check(ep >= 1, "ep must be >= 1, got " + ep);
        check((dpShard * sp) % ep == 0, "ep (" + ep + ") must divide dp_shard x sp (" + dpShard + " x " + sp + " = "
                + dpShard * sp + "): expert-parallel ranks are carved out of the data-parallel ranks");
    }

    /** A single-rank mesh. */
    public static MeshShape single() {
        return new MeshShape(1, 1, 1, 1);
    }

    public int worldSize() {
        return dpReplicate * dpShard * sp;
    }

    /** Ranks holding the same experts: dp_shard x sp / ep. */
    public int epFsdp() {
        return dpShard * sp / ep;
    }

    /**
     * Checks the shape against the world and the model.
     *
     * @param worldSize     ranks in the job
     * @param heads         attention (query) heads, or 0 to skip the check
     * @param kvHeads       key/value heads, or 0 to skip
     * @param experts       routed experts, or 0 for a dense model
     * @param ulysses       whether sequence parallel is Ulysses (heads are split over sp) rather than ring
     */
    public void validate(int worldSize, int heads, int kvHeads, int experts, boolean ulysses) {
        check(worldSize == worldSize(), "dp_replicate x dp_shard x sp = " + dpReplicate + " x " + dpShard + " x " + sp
                + " = " + worldSize() + " must equal the world size " + worldSize);
        if (ulysses && sp > 1 && heads > 0) {
            check(heads % sp == 0, "attention heads (" + heads + ") must be divisible by sp (" + sp
                    + ") for Ulysses sequence parallel; use ring attention or another sp");
            if (kvHeads > 0) {
                check(kvHeads % sp == 0 || sp % kvHeads == 0, "key/value heads (" + kvHeads + ") and sp (" + sp
                        + ") must divide one another: KV heads are split over sp or repeated up to it");
            }
        }
        if (experts > 0) {
            check(experts % ep == 0, "experts (" + experts + ") must be divisible by ep (" + ep + ")");
        } else {
            check(ep == 1, "ep (" + ep + ") > 1 needs a mixture-of-experts model; this model has no experts");
        }
    }

    private static void check(boolean ok, String rule) {
        if (!ok) {
            throw new IllegalArgumentException("invalid parallel mesh: " + rule);
        }
    }
}
