package dev.panomni.parallel.mesh;

import dev.panomni.parallel.comm.Communicator;

import java.util.EnumMap;
import java.util.Map;

/**
 * This rank's place in a {@link MeshShape} and the communicators of its groups. Rank layout:
 * {@code rank = (replica * dpShard + shard) * sp + spIndex}; within the dp_shard x sp block of a
 * replica (index {@code b = shard * sp + spIndex}), {@code epIndex = b % ep} and
 * {@code epFsdpIndex = b / ep}.
 */
public final class DeviceMesh implements AutoCloseable {
    private final MeshShape shape;
    private final Communicator world;
    private final Map<MeshDim, Communicator> groups = new EnumMap<>(MeshDim.class);

    /** Builds every group; all ranks construct their mesh in the same program order. */
    public DeviceMesh(MeshShape shape, Communicator world) {
        if (world.size() != shape.worldSize()) {
            throw new IllegalArgumentException("invalid parallel mesh: " + shape + " needs " + shape.worldSize()
                    + " ranks, the communicator has " + world.size());
        }
        this.shape = shape;
        this.world = world;
        groups.put(MeshDim.WORLD, world);
        for (MeshDim d : MeshDim.values()) {
            if (d != MeshDim.WORLD) {
                groups.put(d, world.subGroup(members(d, world.rank())));
            }
        }
    }

    public MeshShape shape() {
        return shape;
    }

    public int rank() {
        return world.rank();
    }

    /** The communicator of this rank's group along {@code dim}. */
    public Communicator group(MeshDim dim) {
        return groups.get(dim);
    }

    /** This rank's index along {@code dim}. */
    public int index(MeshDim dim) {
        return indexOf(dim, world.rank());
    }

    /** Size of the groups along {@code dim}. */
    public int size(MeshDim dim) {
        return switch (dim) {
            case DP_REPLICATE -> shape.dpReplicate();
            case DP_SHARD -> shape.dpShard();
            case SP -> shape.sp();
            case FSDP -> shape.dpShard() * shape.sp();
            case EP -> shape.ep();
            case EP_FSDP -> shape.epFsdp();
            case WORLD -> shape.worldSize();
        };
    }

    int indexOf(MeshDim dim, int rank) {
        int block = shape.dpShard() * shape.sp();
        int b = rank % block;
        return switch (dim) {
            case DP_REPLICATE -> rank / block;
            case DP_SHARD -> b / shape.sp();
            case SP -> b % shape.sp();
            case FSDP -> b;
            case EP -> b % shape.ep();
            case EP_FSDP -> b / shape.ep();
            case WORLD -> rank;
        };
    }

    /** The world ranks of {@code rank}'s group along {@code dim}, ordered by index along dim. */
    public int[] members(MeshDim dim, int rank) {
        int n = size(dim);
        int[] out = new int[n];
        int k = 0;
        for (int r = 0; r < shape.worldSize() && k < n; r++) {
            if (sameGroup(dim, r, rank)) {
                out[indexOf(dim, r)] = r;
                k++;
            }
        }
        return out;
    }

    private boolean sameGroup(MeshDim dim, int a, int b) {
        for (MeshDim other : new MeshDim[] {MeshDim.DP_REPLICATE, MeshDim.DP_SHARD, MeshDim.SP}) {
            if (!covers(dim, other) && indexOf(other, a) != indexOf(other, b)) {
                return false;
            }
        }
        if (dim == MeshDim.EP) {
            return indexOf(MeshDim.EP_FSDP, a) == indexOf(MeshDim.EP_FSDP, b);
        }
        if (dim == MeshDim.EP_FSDP) {
            return indexOf(MeshDim.EP, a) == indexOf(MeshDim.EP, b);
        }
        return true;
    }

    /** Whether moving along {@code dim} may change the coordinate {@code physical}. */
    private static boolean covers(MeshDim dim, MeshDim physical) {
        return switch (dim) {
            case WORLD -> true;
            case DP_REPLICATE -> physical == MeshDim.DP_REPLICATE;
            case DP_SHARD -> physical == MeshDim.DP_SHARD;
            case SP -> physical == MeshDim.SP;
            case FSDP, EP, EP_FSDP -> physical == MeshDim.DP_SHARD || physical == MeshDim.SP;
            default -> false;
        };
    }

    @Override
    public void close() {
        for (Map.Entry<MeshDim, Communicator> e : groups.entrySet()) {
            if (e.getKey() != MeshDim.WORLD) {
                e.getValue().close();
            }
        }
    }
}
