using System.Globalization;
using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// The anchor study's picture: per-class test AP@[.50:.95] and mAP as grouped bars (one colour per anchor set) with ± one
/// standard deviation over the seeds.
/// </summary>
internal static class StudyPlot
{
    private static readonly SKColor[] Colours = { new(127, 127, 127), new(31, 119, 180), new(214, 39, 40), new(44, 160, 44), new(148, 103, 189) };

    public static void Save(string path, StudyReport study)
    {
        const int width = 1000, height = 480, left = 60, right = 20, top = 60, bottom = 60;
        var groups = study.Classes.Select(c => (Name: c, Value: (Func<StudyRun, double>)(r => r.ClassAp[c]))).Append(("mAP", r => r.Map)).ToList();
        using var bitmap = new SKBitmap(width, height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var axis = new SKPaint { Color = SKColors.Black, IsStroke = true, StrokeWidth = 1.2f };
        using var grid = new SKPaint { Color = new SKColor(220, 220, 220), IsStroke = true, StrokeWidth = 1 };
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var textFont = new SKFont { Size = 13 };
        float plotHeight = height - top - bottom;
        float Y(double v) => (float)(height - bottom - Math.Clamp(v, 0, 1) * plotHeight);
        for (int i = 0; i <= 5; i++)
        {
            double v = i / 5.0;
            canvas.DrawLine(left, Y(v), width - right, Y(v), grid);
            canvas.DrawText(v.ToString("0.0", CultureInfo.InvariantCulture), 22, Y(v) + 4, textFont, text);
        }
        canvas.DrawLine(left, top, left, height - bottom, axis);
        canvas.DrawLine(left, height - bottom, width - right, height - bottom, axis);
        canvas.DrawText("test AP@[.50:.95] per class and mAP, mean ± sd over seeds", left, 22, textFont, text);

        int bars = study.AnchorSets.Count;
        float groupWidth = (width - left - right) / (float)groups.Count;
        float barWidth = groupWidth * 0.8f / bars;
        for (int g = 0; g < groups.Count; g++)
        {
            float x0 = left + g * groupWidth + groupWidth * 0.1f;
            for (int a = 0; a < study.AnchorSets.Count; a++)
            {
                var (mean, sd) = StudyReport.MeanSd(study.Of(study.AnchorSets[a].Name).Select(groups[g].Value));
                if (double.IsNaN(mean)) continue;
                using var fill = new SKPaint { Color = Colours[a % Colours.Length], IsAntialias = true };
                float x = x0 + a * barWidth;
                canvas.DrawRect(x + 1, Y(mean), barWidth - 2, height - bottom - Y(mean), fill);
                using var whisker = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.2f, IsStroke = true, IsAntialias = true };
                float cx = x + barWidth / 2;
                canvas.DrawLine(cx, Y(mean - sd), cx, Y(mean + sd), whisker);
            }
            canvas.DrawText(groups[g].Name, x0 + groupWidth * 0.4f - textFont.MeasureText(groups[g].Name) / 2, height - bottom + 18, textFont, text);
        }
        float lx = left + 10;
        for (int a = 0; a < study.AnchorSets.Count; a++)
        {
            using var fill = new SKPaint { Color = Colours[a % Colours.Length] };
            canvas.DrawRect(lx, 34, 12, 12, fill);
            string label = study.AnchorSets[a].Name + " anchors";
            canvas.DrawText(label, lx + 16, 45, textFont, text);
            lx += 16 + textFont.MeasureText(label) + 24;
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
