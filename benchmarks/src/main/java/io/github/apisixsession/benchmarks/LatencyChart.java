package io.github.apisixsession.benchmarks;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The latency-versus-load chart: achieved requests/s on x, latency on a log y axis, one colour
 * per set-up, p99 solid and p50 dashed, each set-up's closed-loop peak as a dotted vertical line.
 * Plain Java2D, written as PNG.
 */
final class LatencyChart {

    private static final int W = 1100;
    private static final int H = 680;
    private static final int LEFT = 90;
    private static final int RIGHT = 230;
    private static final int TOP = 60;
    private static final int BOTTOM = 70;
    private static final Color[] COLORS = {
        new Color(0x55, 0x55, 0x55), new Color(0x1f, 0x77, 0xb4), new Color(0xff, 0x7f, 0x0e),
        new Color(0x2c, 0xa0, 0x2c), new Color(0x94, 0x67, 0xbd), new Color(0xd6, 0x27, 0x28)};
    private static final double[] Y_TICKS = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500,
        1000, 2000, 5000, 10000};

    private LatencyChart() {
    }

    static void write(Path file, List<String> targets, List<LoadDriver.Measured> sweeps,
                      List<LoadDriver.Measured> peaks, String title) throws IOException {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);

        double xMax = 0;
        double yMin = Double.MAX_VALUE;
        double yMax = 0;
        for (LoadDriver.Measured m : sweeps) {
            xMax = Math.max(xMax, m.throughput());
            yMin = Math.min(yMin, LoadDriver.ms(m.p50()));
            yMax = Math.max(yMax, LoadDriver.ms(m.p99()));
        }
        for (String t : targets) {
            xMax = Math.max(xMax, peak(peaks, t));
        }
        xMax = niceCeil(xMax * 1.05);
        double lo = Y_TICKS[0];
        double hi = Y_TICKS[Y_TICKS.length - 1];
        for (double v : Y_TICKS) {
            if (v <= yMin) {
                lo = v;
            }
        }
        for (int i = Y_TICKS.length - 1; i >= 0; i--) {
            if (Y_TICKS[i] >= yMax) {
                hi = Y_TICKS[i];
            }
        }
        final double yLo = lo;
        final double yHi = Math.max(hi, lo * 10);
        int plotW = W - LEFT - RIGHT;
        int plotH = H - TOP - BOTTOM;
        final double xm = xMax;
        java.util.function.DoubleUnaryOperator px = x -> LEFT + x / xm * plotW;
        java.util.function.DoubleUnaryOperator py = y -> TOP + plotH
                - (Math.log(Math.max(y, yLo)) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo)) * plotH;

        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
        Font small = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 17));
        g.setColor(Color.BLACK);
        g.drawString(title, LEFT, 32);

        // grid and axes
        g.setFont(small);
        FontMetrics fm = g.getFontMetrics();
        Stroke thin = new BasicStroke(1f);
        g.setStroke(thin);
        for (double v : Y_TICKS) {
            if (v < yLo || v > yHi) {
                continue;
            }
            int y = (int) Math.round(py.applyAsDouble(v));
            g.setColor(new Color(0xe4, 0xe4, 0xe4));
            g.drawLine(LEFT, y, LEFT + plotW, y);
            g.setColor(Color.DARK_GRAY);
            String label = trim(v) + " ms";
            g.drawString(label, LEFT - 8 - fm.stringWidth(label), y + 4);
        }
        double step = niceStep(xMax / 8);
        for (double x = 0; x <= xMax + 1e-9; x += step) {
            int xx = (int) Math.round(px.applyAsDouble(x));
            g.setColor(new Color(0xe4, 0xe4, 0xe4));
            g.drawLine(xx, TOP, xx, TOP + plotH);
            g.setColor(Color.DARK_GRAY);
            String label = String.format(Locale.ROOT, "%,.0f", x);
            g.drawString(label, xx - fm.stringWidth(label) / 2, TOP + plotH + 18);
        }
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, plotW, plotH);
        g.setFont(font);
        fm = g.getFontMetrics();
        String xLabel = "achieved throughput (requests/s, open-loop offered load)";
        g.drawString(xLabel, LEFT + (plotW - fm.stringWidth(xLabel)) / 2, H - 25);
        Graphics2D gy = (Graphics2D) g.create();
        gy.rotate(-Math.PI / 2);
        String yLabel = "latency per request, log scale (all RPCs of the request)";
        gy.drawString(yLabel, -(TOP + (plotH + fm.stringWidth(yLabel)) / 2), 22);
        gy.dispose();

        // series
        Stroke solid = new BasicStroke(2.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
        Stroke dashed = new BasicStroke(1.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {7, 5}, 0);
        Stroke dotted = new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {2, 4}, 0);
        int legendY = TOP + 10;
        for (int i = 0; i < targets.size(); i++) {
            String t = targets.get(i);
            Color c = COLORS[i % COLORS.length];
            List<LoadDriver.Measured> pts = new ArrayList<>(sweeps.stream().filter(m -> m.target().equals(t)).toList());
            pts.sort(Comparator.comparingDouble(LoadDriver.Measured::offered));
            g.setColor(c);
            g.setClip(LEFT, TOP, plotW + 1, plotH + 1);
            for (int pass = 0; pass < 2; pass++) {
                g.setStroke(pass == 0 ? solid : dashed);
                int prevX = -1;
                int prevY = -1;
                for (LoadDriver.Measured m : pts) {
                    int x = (int) Math.round(px.applyAsDouble(m.throughput()));
                    int y = (int) Math.round(py.applyAsDouble(LoadDriver.ms(pass == 0 ? m.p99() : m.p50())));
                    if (prevX >= 0) {
                        g.drawLine(prevX, prevY, x, y);
                    }
                    if (pass == 0) {
                        g.fillOval(x - 4, y - 4, 9, 9);
                    } else {
                        g.drawRect(x - 3, y - 3, 6, 6);
                    }
                    prevX = x;
                    prevY = y;
                }
            }
            double peak = peak(peaks, t);
            if (peak > 0) {
                g.setStroke(dotted);
                int x = (int) Math.round(px.applyAsDouble(peak));
                g.drawLine(x, TOP, x, TOP + plotH);
            }
            // legend
            g.setClip(null);
            g.setStroke(solid);
            int lx = LEFT + plotW + 20;
            g.drawLine(lx, legendY, lx + 30, legendY);
            g.fillOval(lx + 11, legendY - 4, 9, 9);
            g.setColor(Color.BLACK);
            g.setFont(font);
            g.drawString(t + " p99", lx + 38, legendY + 5);
            g.setColor(c);
            g.setStroke(dashed);
            g.drawLine(lx, legendY + 22, lx + 30, legendY + 22);
            g.setColor(Color.BLACK);
            g.drawString(t + " p50", lx + 38, legendY + 27);
            g.setFont(small);
            g.drawString(String.format(Locale.ROOT, "peak %,.0f req/s", peak), lx + 38, legendY + 45);
            legendY += 75;
        }
        g.setFont(small);
        g.setColor(Color.DARK_GRAY);
        int ny = legendY + 10;
        for (String line : new String[] {"dotted vertical line:", "closed-loop peak", "(median of rounds)"}) {
            g.drawString(line, LEFT + plotW + 20, ny);
            ny += 16;
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    private static double peak(List<LoadDriver.Measured> peaks, String target) {
        double[] v = peaks.stream().filter(m -> m.target().equals(target)).mapToDouble(LoadDriver.Measured::throughput)
                .toArray();
        return v.length == 0 ? 0 : LoadDriver.median(v);
    }

    private static String trim(double v) {
        return v >= 1 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%s", v);
    }

    static double niceStep(double raw) {
        double exp = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / exp;
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * exp;
    }

    private static double niceCeil(double v) {
        double step = niceStep(v / 8);
        return Math.ceil(v / step) * step;
    }
}
