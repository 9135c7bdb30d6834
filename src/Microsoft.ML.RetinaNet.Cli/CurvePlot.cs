using System.Globalization;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>A PNG with the mean training loss (left axis) and validation mAP and AP50 (right axis) per epoch.</summary>
internal static class CurvePlot
{
    public static void Save(string path, IReadOnlyList<EpochRecord> history)
    {
        const int width = 800, height = 450, left = 70, right = 70, top = 40, bottom = 50;
        using var bitmap = new SKBitmap(width, height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var axis = new SKPaint { Color = SKColors.Black, IsStroke = true, StrokeWidth = 1.5f };
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var textFont = new SKFont { Size = 13 };
        canvas.DrawRect(left, top, width - left - right, height - top - bottom, axis);
        canvas.DrawText("epoch", width / 2f - 20, height - 12, textFont, text);
        canvas.DrawText("mean training loss (blue), validation mAP (red) and AP50 (orange)", left, 25, textFont, text);
        int n = Math.Max(1, history.Count);
        double maxLoss = Math.Max(1e-6, history.Select(h => h.MeanLoss).DefaultIfEmpty(1).Max());
        float X(int epoch) => left + (n == 1 ? 0.5f : (epoch - 1f) / (n - 1)) * (width - left - right);
        float YLoss(double v) => (float)(height - bottom - v / maxLoss * (height - top - bottom));
        float YMetric(double v) => (float)(height - bottom - v * (height - top - bottom));
        for (int i = 0; i <= 4; i++)
        {
            canvas.DrawText((maxLoss * i / 4).ToString("0.##", CultureInfo.InvariantCulture), 10, YLoss(maxLoss * i / 4) + 4, textFont, text);
            canvas.DrawText((i / 4.0).ToString("0.##", CultureInfo.InvariantCulture), width - right + 8, YMetric(i / 4.0) + 4, textFont, text);
        }
        foreach (var h in history)
            canvas.DrawText(h.Epoch.ToString(CultureInfo.InvariantCulture), X(h.Epoch) - 4, height - bottom + 16, textFont, text);
        void Line(Func<EpochRecord, double?> value, Func<double, float> y, SKColor colour)
        {
            using var paint = new SKPaint { Color = colour, StrokeWidth = 2.5f, IsAntialias = true, IsStroke = true };
            var points = history.Where(h => value(h).HasValue).Select(h => new SKPoint(X(h.Epoch), y(value(h)!.Value))).ToArray();
            for (int i = 1; i < points.Length; i++) canvas.DrawLine(points[i - 1], points[i], paint);
            foreach (var p in points) canvas.DrawCircle(p, 3.5f, paint);
        }
        Line(h => h.MeanLoss, YLoss, new SKColor(31, 119, 180));
        Line(h => h.ValidationMap, YMetric, new SKColor(214, 39, 40));
        Line(h => h.ValidationAp50, YMetric, new SKColor(255, 127, 14));
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
