package dev.panomni.trainer.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.List;

/**
 * Everything needed to continue a {@link DataLoader} exactly where it stopped: file positions, the
 * random streams' counters, the shuffle buffer (as references to lines, read again on restore)
 * and the partly used document. Saved as JSON in checkpoints.
 *
 * @param version       format version ({@value #VERSION})
 * @param split         the split the loader serves
 * @param fingerprint   the data options that decide document order (must match on restore)
 * @param sources       one per input file
 * @param currentFile   the file a validation loader is reading (file order); 0 for training
 * @param mixerDraws    draws taken from the file-mixing stream
 * @param shuffleDraws  draws taken from the shuffle stream
 * @param shuffleBuffer the documents in the shuffle buffer, in buffer order
 * @param pending       the document piece that starts the next batch, or null
 * @param stats         counters so far
 */
public record DataLoaderState(int version, Split split, String fingerprint, List<SourceState> sources, int currentFile,
                              long mixerDraws, long shuffleDraws, List<DocRef> shuffleBuffer, PendingPiece pending,
                              DataStats stats) {
    public static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    public DataLoaderState {
        sources = List.copyOf(sources);
        shuffleBuffer = List.copyOf(shuffleBuffer);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static DataLoaderState fromJson(String json) {
        try {
            return JSON.readValue(json, DataLoaderState.class);
        } catch (JsonProcessingException e) {
            throw new DataException("data loader state is not valid: " + e.getOriginalMessage(), e);
        }
    }
}
