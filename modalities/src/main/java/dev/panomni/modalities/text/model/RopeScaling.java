package dev.panomni.modalities.text.model;

/**
 * Llama 3 style RoPE frequency scaling ({@code rope_scaling} with {@code rope_type: llama3}):
 * long wavelengths are divided by {@code factor}, short ones kept, and the band between
 * interpolated smoothly.
 */
public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
    /** The scaled inverse frequencies for head dim {@code headDim} and base {@code theta}. */
    public float[] invFreq(int headDim, double theta) {
        float[] base = RopeScaling.baseInvFreq(headDim, theta);
        if (this.factor == 1.0) {
            return base;
        }
        double lowWavelen = originalMaxPositions / lowFreqFactor;
        double highWavelen = originalMaxPositions / highFreqFactor;
        float[] out = new float[base.length];
        for (int i = 0; i < base.length; i++) {
            double wavelen = 2 * Math.PI / base[i];
            if (wavelen < highWavelen) {
                out[i] = base[i];
            } else if (wavelen > lowWavelen) {
                out[i] = (float) (base[i] / factor);
            } else {
                double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                out[i] = (float) ((1 - smooth) * base[i] / factor + smooth * base[i]);
            }
        }
        return out;
    }

    /** Unscaled inverse frequencies theta^(-2i/d), i < d/2, computed as Hugging Face does (in float). */
    public static float[] baseInvFreq(int headDim, double theta) {
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) (1.0 / Math.pow(theta, (2.0 * i) / headDim));
        }
        return f;
    }
}
