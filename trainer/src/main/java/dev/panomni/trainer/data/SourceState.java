package dev.panomni.trainer.data;

/**
 * Read position and counts of one input file, as saved in a checkpoint.
 *
 * @param path           the file, as configured
 * @param byteOffset     where the next line starts
 * @param line           lines read so far in this pass (the next is {@code line + 1})
 * @param epoch          completed passes over the file
 * @param docsThisEpoch  documents taken from the file in this pass
 * @param malformedLines malformed lines skipped (first pass only, so each counts once)
 * @param blankLines     empty lines skipped (first pass only)
 * @param otherSplitLines lines belonging to the other split (validation lines for the training
 *                        loader and vice versa; first pass only)
 */
public record SourceState(String path, long byteOffset, long line, long epoch, long docsThisEpoch,
                          long malformedLines, long blankLines, long otherSplitLines) {
}
