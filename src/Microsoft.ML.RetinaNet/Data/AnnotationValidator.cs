using System.Globalization;

namespace Microsoft.ML.RetinaNet.Data;

/// <summary>
/// Checks the labels and boxes of one row against the image, collecting every problem with its row and object
/// index, and clips boxes that reach outside the image.
/// </summary>
internal sealed class AnnotationValidator
{
    private const int MaxListedErrors = 10;
    private readonly List<string> _errors = new();
    private readonly string _dataName;
    private readonly string _labelColumn;
    private readonly string _boxColumn;
    private readonly int _classCount;

    public AnnotationValidator(string dataName, string labelColumn, string boxColumn, int classCount)
    {
        _dataName = dataName;
        _labelColumn = labelColumn;
        _boxColumn = boxColumn;
        _classCount = classCount;
    }

    public int ErrorCount { get; private set; }

    /// <summary>How a row is named in messages; "row N" unless set (the trainer adds the image's file name).</summary>
    public Func<long, string> DescribeRow { get; set; } = row => $"row {row}";
    public int ClippedCount { get; private set; }

    /// <summary>Validated 0-based labels and clipped boxes of a row, or null when the row has errors.</summary>
    public (long[] Labels, float[] Boxes)? Check(long row, ReadOnlySpan<uint> keys, ReadOnlySpan<float> boxes, int width, int height)
    {
        if (boxes.Length != keys.Length * 4)
        {
            string hint = boxes.Length % 4 == 0 ? $"{boxes.Length / 4} boxes" : $"{boxes.Length} values, not a multiple of 4";
            Error(row, $"{keys.Length} labels in '{_labelColumn}' but {boxes.Length} values in '{_boxColumn}' ({hint}); every object needs one "
                + $"label and 4 values x0, y0, x1, y1.");
            return null;
        }
        int before = ErrorCount;
        var labels = new long[keys.Length];
        var clipped = new float[boxes.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            uint key = keys[i];
            if (key == 0)
                Error(row, $"object {i}: the label is missing (key 0). MapValueToKey gives 0 to values it did not see when fitted; fit it on data "
                    + $"that has every class.");
            else if (key > _classCount)
                Error(row, $"object {i}: label key {key} is outside the key range 1..{_classCount}.");
            labels[i] = key - 1L;

            float x0 = boxes[4 * i], y0 = boxes[4 * i + 1], x1 = boxes[4 * i + 2], y1 = boxes[4 * i + 3];
            string quoted = $"[{F(x0)}, {F(y0)}, {F(x1)}, {F(y1)}]";
            if (!float.IsFinite(x0) || !float.IsFinite(y0) || !float.IsFinite(x1) || !float.IsFinite(y1))
            {
                Error(row, $"box {i} {quoted} has a coordinate that is not a finite number.");
                continue;
            }
            if (x1 <= x0 || y1 <= y0)
            {
                bool looksLikeXywh = x1 > 0 && y1 > 0 && x0 + x1 <= width + 0.5f && y0 + y1 <= height + 0.5f;
                Error(row, $"box {i} {quoted} has x1 <= x0 or y1 <= y0." + (looksLikeXywh
                    ? $" It looks like x, y, width, height: '{_boxColumn}' needs x0, y0, x1, y1 (x1 = x + width, y1 = y + height)."
                    : " Boxes are x0, y0, x1, y1 with x1 > x0 and y1 > y0."));
                continue;
            }
            if (x1 <= 0 || y1 <= 0 || x0 >= width || y0 >= height)
            {
                Error(row, $"box {i} {quoted} lies entirely outside the {width}×{height} image. Boxes are in the image's pixels; if they were drawn "
                    + $"on a resized image, scale them back.");
                continue;
            }
            float cx0 = Math.Max(x0, 0), cy0 = Math.Max(y0, 0), cx1 = Math.Min(x1, width), cy1 = Math.Min(y1, height);
            if (cx0 != x0 || cy0 != y0 || cx1 != x1 || cy1 != y1)
                ClippedCount++;
            clipped[4 * i] = cx0; clipped[4 * i + 1] = cy0; clipped[4 * i + 2] = cx1; clipped[4 * i + 3] = cy1;
        }
        return ErrorCount == before ? (labels, clipped) : null;
    }

    public void Error(long row, string message)
    {
        ErrorCount++;
        if (_errors.Count < MaxListedErrors)
            _errors.Add($"{DescribeRow(row)}: {message}");
    }

    /// <summary>Throws one exception listing the problems found, if any.</summary>
    public void ThrowIfErrors()
    {
        if (ErrorCount > 0)
            throw new InvalidDataException($"The {_dataName} has {ErrorCount} problem(s) (rows count from 0):\n" + ErrorSummary());
    }

    /// <summary>The first problems, one per line, and how many more there are; empty when there are none.</summary>
    public string ErrorSummary()
    {
        string more = ErrorCount > _errors.Count ? $"\n… and {ErrorCount - _errors.Count} more." : "";
        return string.Join("\n", _errors) + more;
    }

    private static string F(float v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
