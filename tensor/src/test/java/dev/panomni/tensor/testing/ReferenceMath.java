package dev.panomni.tensor.testing;

/** Float64 reference functions that java.lang.Math lacks, accurate to about 1e-14 relative. */
public final class ReferenceMath {
    private ReferenceMath() {
    }

    /** erf(x): Maclaurin series below |x| = 2, 1 - erfc above. */
    public static double erf(double x) {
        double a = Math.abs(x);
        if (a < 2) {
            double sum = 0;
            double term = x;
            for (int n = 0; n < 200; n++) {
                double c = term / (2 * n + 1);
                sum += c;
                if (Math.abs(c) < 1e-17 * Math.abs(sum)) {
                    break;
                }
                term *= -x * x / (n + 1);
            }
            return 2 / Math.sqrt(Math.PI) * sum;
        }
        return Math.copySign(1 - erfc(a), x);
    }

    /** erfc(x): continued fraction for x >= 2, 1 - erf(x) otherwise (2 - erfc(-x) for x <= -2). */
    public static double erfc(double x) {
        if (x <= -2) {
            return 2 - erfc(-x);
        }
        if (x < 2) {
            return 1 - erf(x);
        }
        double t = x;
        for (int k = 300; k >= 1; k--) {
            t = x + (k / 2.0) / t;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / t;
    }

    /** The standard normal CDF. */
    public static double gaussianCdf(double x) {
        return 0.5 * erfc(-x / Math.sqrt(2));
    }
}
