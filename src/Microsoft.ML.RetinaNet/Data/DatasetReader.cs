using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.AnchorTuning;

namespace Microsoft.ML.RetinaNet.Data;

/// <summary>Reads and validates the detection columns of an IDataView: into letterboxed in-memory examples, or into boxes only.</summary>
internal static class DatasetReader
{
    /// <summary>
    /// Every row's letterboxed pixels, boxes and labels. A row whose image cannot be read or whose annotations fail
    /// validation stops the reading with every problem listed — or, with <paramref name="skipInvalidRows"/>, is left out
    /// and counted in <see cref="DetectionDataset.Skipped"/>.
    /// </summary>
    public static DetectionDataset Read(IDataView data, string imageColumn, string labelColumn, string boxColumn, int canvasSize,
        string dataName, CancellationToken cancellation = default, bool skipInvalidRows = false)
    {
        var examples = new List<DetectionExample>();
        try
        {
            var (classNames, clipped, skipped) = ReadRows(data, imageColumn, labelColumn, boxColumn, dataName, cancellation, skipInvalidRows, (row,
                name, image, labels, boxes) =>
            {
                var letterbox = Letterbox.For(image.Width, image.Height, canvasSize);
                examples.Add(new DetectionExample(row, name, letterbox.Resize(image), letterbox.OriginalToContent(boxes), labels, letterbox));
            });
            if (examples.Count == 0)
                throw new InvalidDataException($"Every one of the {skipped.Count} rows of the {dataName} is invalid, so nothing is left to train "
                    + $"on:\n{skipped}");
            return new DetectionDataset(examples, classNames, clipped, skipped);
        }
        catch
        {
            foreach (var e in examples) e.Dispose();
            throw;
        }
    }

    /// <summary>Every row's boxes, in the pixels of the letterboxed canvas (offsets included), without keeping the images.</summary>
    public static BoxSet ReadBoxes(IDataView data, string imageColumn, string labelColumn, string boxColumn, int canvasSize, string dataName)
    {
        var boxes = new List<float>();
        var labels = new List<int>();
        var (classNames, _, _) = ReadRows(data, imageColumn, labelColumn, boxColumn, dataName, CancellationToken.None, false, (_, _, image,
            rowLabels, rowBoxes) =>
        {
            var letterbox = Letterbox.For(image.Width, image.Height, canvasSize);
            boxes.AddRange(letterbox.ContentToCanvas(letterbox.OriginalToContent(rowBoxes)));
            labels.AddRange(rowLabels.Select(l => (int)l));
        });
        return new BoxSet(boxes.ToArray(), labels.ToArray(), classNames);
    }

    /// <summary>
    /// Checks the columns, then every row; calls <paramref name="accept"/> with each valid row (its name, 0-based labels,
    /// clipped boxes). Without <paramref name="skipInvalid"/> it stops accepting at the first problem, only collects
    /// problems after it, and throws them all at the end; with it, invalid rows are left out and listed in the result.
    /// </summary>
    private static (string[] ClassNames, int Clipped, SkippedRows Skipped) ReadRows(IDataView data, string imageColumn, string labelColumn,
        string boxColumn,
        string dataName, CancellationToken cancellation, bool skipInvalid, Action<long, string, MLImage, long[], float[]> accept)
    {
        var schema = data.Schema;
        var image = DetectionSchema.ImageColumn(schema, imageColumn, dataName);
        var label = DetectionSchema.LabelColumn(schema, labelColumn, dataName);
        var box = DetectionSchema.BoxColumn(schema, boxColumn, dataName);
        var classNames = DetectionSchema.ClassNames(label);
        var validator = new AnnotationValidator(dataName, labelColumn, boxColumn, classNames.Length);
        var skipped = new SkippedRows();
        var source = DetectionSchema.SourceColumn(schema, imageColumn);

        using var cursor = data.GetRowCursor(source is null ? new[] { image, label, box } : new[] { image, label, box, source.Value });
        var getSource = source is null ? null : cursor.GetGetter<ReadOnlyMemory<char>>(source.Value);
        ReadOnlyMemory<char> sourceText = default;
        string currentName = "";
        validator.DescribeRow = _ => currentName;
        var getImage = cursor.GetGetter<MLImage>(image);
        var getLabels = cursor.GetGetter<VBuffer<uint>>(label);
        var getBoxes = cursor.GetGetter<VBuffer<float>>(box);
        MLImage? picture = null;
        VBuffer<uint> keys = default;
        VBuffer<float> coordinates = default;
        long row = -1;
        try
        {
            while (cursor.MoveNext())
            {
                cancellation.ThrowIfCancellationRequested();
                row++;
                if (getSource != null)
                    getSource(ref sourceText);
                currentName = getSource is null ? $"row {row}" : $"row {row} ('{sourceText}')";
                int errorsBefore = validator.ErrorCount;
                try
                {
                    getImage(ref picture!);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    validator.Error(row, $"the image in '{imageColumn}' could not be read: {e.Message}");
                    skipped.Add(currentName);
                    continue;
                }
                if (picture is null || picture.Width <= 0 || picture.Height <= 0)
                {
                    validator.Error(row, $"the image in '{imageColumn}' is empty.");
                    skipped.Add(currentName);
                    continue;
                }
                getLabels(ref keys);
                getBoxes(ref coordinates);
                var checkedRow = validator.Check(row, keys.DenseValues().ToArray(), coordinates.DenseValues().ToArray(), picture.Width,
                    picture.Height);
                if (checkedRow is null)
                {
                    skipped.Add(currentName);
                    continue;
                }
                if (validator.ErrorCount > 0 && !skipInvalid)
                    continue; // keep reading to report every problem; build nothing once one is found
                accept(row, currentName, picture, checkedRow.Value.Labels, checkedRow.Value.Boxes);
            }
        }
        finally
        {
            picture?.Dispose();
        }
        if (row < 0)
            throw new InvalidDataException($"The {dataName} has no rows; a detector needs at least one image.");
        if (!skipInvalid)
            validator.ThrowIfErrors();
        skipped.Details = validator.ErrorSummary();
        return (classNames, validator.ClippedCount, skipped);
    }
}

/// <summary>Rows left out by <c>SkipInvalidRows</c>: how many, and the problems of the first few.</summary>
internal sealed class SkippedRows
{
    private readonly List<string> _names = new();

    public int Count { get; private set; }

    /// <summary>The validator's list of problems (the first ten), empty when nothing was skipped.</summary>
    public string Details { get; set; } = "";

    public IReadOnlyList<string> FirstNames => _names;

    public void Add(string name)
    {
        Count++;
        if (_names.Count < 10) _names.Add(name);
    }

    public override string ToString() => Details;
}
