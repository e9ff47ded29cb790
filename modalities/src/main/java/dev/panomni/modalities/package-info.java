/** Model zoo and per-modality processing: tokenizers, encoders, language foundations, omni composition. */
package dev.panomni.modalities;
