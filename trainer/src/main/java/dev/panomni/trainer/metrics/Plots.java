package dev.panomni.trainer.metrics;

import dev.panomni.trainer.checkpoint.Durable;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Loss, learning-rate and throughput charts as PNG (JFreeChart, rendered headless). Each file is
 * replaced atomically, so a viewer never sees half a picture.
 */
public final class Plots {
    public static final String LOSS = "loss.png";
    public static final String LEARNING_RATE = "lr.png";
    public static final String THROUGHPUT = "throughput.png";

    private static final int WIDTH = 900;
    private static final int HEIGHT = 500;

    static {
        // Before any AWT class loads: charts render off-screen, with or without a display.
        System.setProperty("java.awt.headless", "true");
    }

    private Plots() {
    }

    /**
     * Writes {@value #LOSS} (training and, where measured, validation loss), {@value #LEARNING_RATE}
     * and {@value #THROUGHPUT} (tokens/s) into {@code dir}.
     *
     * @return the files written
     */
    public static List<Path> write(List<StepMetrics> records, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> out = new ArrayList<>();
        XYSeriesCollection loss = new XYSeriesCollection();
        loss.addSeries(series("train loss", records, StepMetrics::loss));
        XYSeries val = series("validation loss", records, StepMetrics::valLoss);
        if (val.getItemCount() > 0) {
            loss.addSeries(val);
        }
        out.add(save(chart("Loss", "loss", loss, true), dir.resolve(LOSS)));
        out.add(save(chart("Learning rate", "learning rate", collection(series("lr", records, StepMetrics::lr)), false),
                dir.resolve(LEARNING_RATE)));
        out.add(save(chart("Throughput", "tokens/s", collection(series("tokens/s", records,
                StepMetrics::tokensPerSecond)), false), dir.resolve(THROUGHPUT)));
        return out;
    }

    private static XYSeries series(String name, List<StepMetrics> records, Function<StepMetrics, Number> value) {
        XYSeries s = new XYSeries(name, true, true);
        for (StepMetrics m : records) {
            Number v = value.apply(m);
            if (v != null && Double.isFinite(v.doubleValue())) {
                s.addOrUpdate(m.step(), v);
            }
        }
        return s;
    }

    private static XYSeriesCollection collection(XYSeries s) {
        return new XYSeriesCollection(s);
    }

    private static JFreeChart chart(String title, String yLabel, XYSeriesCollection data, boolean logScale) {
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step", yLabel, data, PlotOrientation.VERTICAL,
                data.getSeriesCount() > 1, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        if (logScale && allPositive(data)) {
            LogAxis axis = new LogAxis(yLabel);
            axis.setSmallestValue(1e-6);
            axis.setNumberFormatOverride(new java.text.DecimalFormat("0.###")); // 0.5, not 10^-0.3
            plot.setRangeAxis(axis);
        }
        return chart;
    }

    private static boolean allPositive(XYSeriesCollection data) {
        for (int s = 0; s < data.getSeriesCount(); s++) {
            for (int i = 0; i < data.getItemCount(s); i++) {
                if (!(data.getYValue(s, i) > 0)) {
                    return false;
                }
            }
        }
        return data.getSeriesCount() > 0 && data.getItemCount(0) > 0;
    }

    private static Path save(JFreeChart chart, Path file) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        ChartUtils.saveChartAsPNG(tmp.toFile(), chart, WIDTH, HEIGHT);
        Durable.move(tmp, file);
        return file;
    }
}
