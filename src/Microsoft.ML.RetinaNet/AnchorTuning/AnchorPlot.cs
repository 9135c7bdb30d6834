using System.Globalization;
using Microsoft.ML.RetinaNet.Detection;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>
/// A PNG scatter of the boxes' width and height on log axes, coloured by class, with the starting anchors (grey circles)
/// and the optimised anchors (black squares) drawn over it, and the boxes the optimised anchors leave uncovered marked ×.
/// </summary>
public static class AnchorPlot
{
    private static readonly SKColor[] Palette =
    {
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(148, 103, 189), new(140, 86, 75),
        new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207), new(214, 39, 40),
    };

    private const int Width = 1000, Height = 750, Left = 80, Right = 230, Top = 50, Bottom = 60;

    /// <summary>Writes the plot of <paramref name="result"/> to <paramref name="path"/>.</summary>
    public static void Save(string path, AnchorTuningResult result)
    {
        var boxes = result.Boxes;
        var start = Shapes(result.Options.BaseAnchors);
        var tuned = Shapes(result.Anchors);
        var all = Enumerable.Range(0, boxes.Count).Select(i => (boxes.Width(i), boxes.Height(i))).Concat(start).Concat(tuned).ToList();
        double lo = Math.Log2(Math.Max(0.5, all.Min(p => Math.Min(p.Item1, p.Item2)) * 0.8));
        double hi = Math.Log2(all.Max(p => Math.Max(p.Item1, p.Item2)) * 1.25);
        float X(double w) => (float)(Left + (Math.Log2(w) - lo) / (hi - lo) * (Width - Left - Right));
        float Y(double h) => (float)(Height - Bottom - (Math.Log2(h) - lo) / (hi - lo) * (Height - Top - Bottom));

        using var bitmap = new SKBitmap(Width, Height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var text = new SKPaint { Color = SKColors.Black, TextSize = 14, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(225, 225, 225), StrokeWidth = 1 };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.5f, IsStroke = true };
        for (int e = (int)Math.Ceiling(lo); e <= (int)Math.Floor(hi); e++)
        {
            double v = Math.Pow(2, e);
            canvas.DrawLine(X(v), Top, X(v), Height - Bottom, grid);
            canvas.DrawLine(Left, Y(v), Width - Right, Y(v), grid);
            string label = v.ToString("0.##", CultureInfo.InvariantCulture);
            canvas.DrawText(label, X(v) - 8, Height - Bottom + 20, text);
            canvas.DrawText(label, Left - 45, Y(v) + 5, text);
        }
        canvas.DrawRect(Left, Top, Width - Left - Right, Height - Top - Bottom, axis);
        canvas.DrawText("box width (pixels, log scale)", Left + 200, Height - 15, text);
        canvas.Save();
        canvas.RotateDegrees(-90, 20, Height / 2f);
        canvas.DrawText("box height (pixels, log scale)", 20 - 110, Height / 2f, text);
        canvas.Restore();
        canvas.DrawText(string.Create(CultureInfo.InvariantCulture,
            $"{boxes.Count} boxes at {result.Options.ImageSize}×{result.Options.ImageSize}: covered at IoU {result.Options.IouThreshold:0.##} "
                + $"start {result.BaseCoverage.CoveredFraction:P1}, optimised {result.Coverage.CoveredFraction:P1}"),
            Left, 30, text);

        for (int i = 0; i < boxes.Count; i++)
        {
            using var dot = new SKPaint { Color = Palette[boxes.Labels[i] % Palette.Length].WithAlpha(140), IsAntialias = true };
            canvas.DrawCircle(X(boxes.Width(i)), Y(boxes.Height(i)), 2.5f, dot);
        }
        using var cross = new SKPaint { Color = new SKColor(200, 0, 0), StrokeWidth = 1.5f, IsAntialias = true };
        foreach (var u in result.Coverage.Uncovered)
        {
            float x = X(u.Width), y = Y(u.Height);
            canvas.DrawLine(x - 4, y - 4, x + 4, y + 4, cross);
            canvas.DrawLine(x - 4, y + 4, x + 4, y - 4, cross);
        }
        using var startPaint = new SKPaint { Color = new SKColor(120, 120, 120), IsStroke = true, StrokeWidth = 1.5f, IsAntialias = true };
        foreach (var (w, h) in start)
            canvas.DrawCircle(X(w), Y(h), 5, startPaint);
        using var tunedPaint = new SKPaint { Color = SKColors.Black, IsStroke = true, StrokeWidth = 2, IsAntialias = true };
        foreach (var (w, h) in tuned)
            canvas.DrawRect(X(w) - 5, Y(h) - 5, 10, 10, tunedPaint);

        float ly = Top + 10;
        void Legend(string name, Action<float, float> mark)
        {
            mark(Width - Right + 20, ly);
            canvas.DrawText(name, Width - Right + 35, ly + 5, text);
            ly += 22;
        }
        for (int k = 0; k < boxes.ClassNames.Count; k++)
        {
            var colour = Palette[k % Palette.Length];
            Legend(boxes.ClassNames[k], (x, y) => { using var p = new SKPaint { Color = colour, IsAntialias = true }; canvas.DrawCircle(x, y, 4,
                p); });
        }
        Legend("uncovered (optimised)", (x, y) => { canvas.DrawLine(x - 4, y - 4, x + 4, y + 4, cross); canvas.DrawLine(x - 4, y + 4, x + 4, y - 4,
            cross); });
        Legend("start anchors", (x, y) => canvas.DrawCircle(x, y, 5, startPaint));
        Legend("optimised anchors", (x, y) => canvas.DrawRect(x - 5, y - 5, 10, 10, tunedPaint));

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder != null) Directory.CreateDirectory(folder);
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }

    /// <summary>Width and height of every anchor shape of every level.</summary>
    private static IEnumerable<(double, double)> Shapes(AnchorOptions anchors)
    {
        for (int l = 0; l < AnchorOptions.LevelCount; l++)
        {
            var b = AnchorShapes.BaseAnchors(anchors, l);
            for (int k = 0; k < b.Length; k += 4)
                yield return (b[k + 2] - b[k], b[k + 3] - b[k + 1]);
        }
    }
}
