using SkiaSharp;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// Draws one image's detections, one colour per class (solid boxes, a caption with the class and score), and its ground
/// truth when known (dashed boxes in the class's colour, no caption). A caption that would cover an earlier one moves
/// inside its box; if it still collides it is left out (the box stays), so busy scenes stay readable. A legend in the
/// corner names the colours.
/// </summary>
internal sealed class DetectionPicture : IDisposable
{
    // Ten colours that stay apart from each other and from typical photo content (Tableau 10).
    private static readonly SKColor[] Palette =
    {
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189),
        new(140, 86, 75), new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207),
    };

    private readonly IReadOnlyList<string> _classes;
    private readonly SKPaint _box = new() { IsStroke = true, StrokeWidth = 2, IsAntialias = true };
    private readonly SKPaint _truth = new() { IsStroke = true, StrokeWidth = 1.5f, IsAntialias = true,
        PathEffect = SKPathEffect.CreateDash(new[] { 5f, 3f }, 0) };
    private readonly SKPaint _fill = new() { IsAntialias = true };
    private readonly SKPaint _text = new() { Color = SKColors.White, IsAntialias = true };
    private readonly SKFont _textFont = new() { Size = 11 };

    public DetectionPicture(IReadOnlyList<string> classes) => _classes = classes;

    public static SKColor ColorOf(int classIndex) => Palette[((classIndex % Palette.Length) + Palette.Length) % Palette.Length];

    /// <summary>Draws on <paramref name="bitmap"/>: ground truth first, then detections at or above <paramref name="minScore"/>.</summary>
    public void Draw(SKBitmap bitmap, ImageDetections detections, float minScore, IReadOnlyList<(string Label, float[] Box)>? truth)
    {
        using var canvas = new SKCanvas(bitmap);
        foreach (var (label, b) in truth ?? Array.Empty<(string, float[])>())
        {
            _truth.Color = ColorOf(IndexOf(label));
            canvas.DrawRect(new SKRect(b[0], b[1], b[2], b[3]), _truth);
        }
        var captions = new List<SKRect>();
        for (int i = 0; i < detections.Scores.Length; i++)
        {
            if (detections.Scores[i] < minScore) continue;
            var b = detections.Boxes.AsSpan(4 * i, 4);
            var color = ColorOf(IndexOf(detections.Labels[i]));
            _box.Color = color;
            var rect = new SKRect(b[0], b[1], b[2], b[3]);
            canvas.DrawRect(rect, _box);
            string caption = $"{detections.Labels[i]} {detections.Scores[i]:0.00}";
            float width = _textFont.MeasureText(caption) + 4, height = 13;
            var above = new SKRect(rect.Left, rect.Top - height, rect.Left + width, rect.Top);
            var inside = new SKRect(rect.Left, rect.Top, rect.Left + width, rect.Top + height);
            var place = new[] { above, inside }.Where(c => !captions.Any(o => o.IntersectsWith(c))).Cast<SKRect?>().FirstOrDefault();
            if (place is not SKRect p) continue;
            captions.Add(p);
            _fill.Color = color;
            canvas.DrawRect(p, _fill);
            canvas.DrawText(caption, p.Left + 2, p.Bottom - 3, _textFont, _text);
        }
        DrawLegend(canvas, truth is not null);
    }

    private void DrawLegend(SKCanvas canvas, bool withTruth)
    {
        float y = 4, x = 4;
        var lines = _classes.Select((name, i) => (name, ColorOf(i))).ToList();
        float width = Math.Max(lines.Select(l => _textFont.MeasureText(l.name)).DefaultIfEmpty(0).Max(), _textFont.MeasureText("- - ground truth"))
            + 22;
        float height = 14 * (lines.Count + (withTruth ? 2 : 0)) + 4;
        _fill.Color = new SKColor(0, 0, 0, 150);
        canvas.DrawRect(new SKRect(x, y, x + width, y + height), _fill);
        foreach (var (name, color) in lines)
        {
            _fill.Color = color;
            canvas.DrawRect(new SKRect(x + 4, y + 4, x + 14, y + 14), _fill);
            canvas.DrawText(name, x + 18, y + 13, _textFont, _text);
            y += 14;
        }
        if (withTruth)
        {
            canvas.DrawText("— detection", x + 4, y + 13, _textFont, _text);
            canvas.DrawText("- - ground truth", x + 4, y + 27, _textFont, _text);
        }
    }

    private int IndexOf(string label)
    {
        for (int i = 0; i < _classes.Count; i++)
            if (_classes[i] == label) return i;
        return _classes.Count;
    }

    public void Dispose()
    {
        _box.Dispose();
        _truth.Dispose();
        _fill.Dispose();
        _text.Dispose();
        _textFont.Dispose();
    }
}
