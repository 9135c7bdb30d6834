using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.AnchorTuning;

namespace Microsoft.ML.RetinaNet.Data;

/// <summary>Reads and validates the detection columns of an IDataView: into letterboxed in-memory examples, or into boxes only.</summary>
internal static class DatasetReader
{
    /// <summary>Every row's letterboxed pixels, boxes and labels.</summary>
    public static DetectionDataset Read(IDataView data, string imageColumn, string labelColumn, string boxColumn, int canvasSize,
        string dataName, CancellationToken cancellation = default)
    {
        var examples = new List<DetectionExample>();
        try
        {
            var (classNames, clipped) = ReadRows(data, imageColumn, labelColumn, boxColumn, dataName, cancellation, (row, image, labels, boxes) =>
            {
                var letterbox = Letterbox.For(image.Width, image.Height, canvasSize);
                examples.Add(new DetectionExample(row, letterbox.Resize(image), letterbox.OriginalToContent(boxes), labels, letterbox));
            });
            return new DetectionDataset(examples, classNames, clipped);
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
        var (classNames, _) = ReadRows(data, imageColumn, labelColumn, boxColumn, dataName, CancellationToken.None, (_, image, rowLabels, rowBoxes) =>
        {
            var letterbox = Letterbox.For(image.Width, image.Height, canvasSize);
            boxes.AddRange(letterbox.ContentToCanvas(letterbox.OriginalToContent(rowBoxes)));
            labels.AddRange(rowLabels.Select(l => (int)l));
        });
        return new BoxSet(boxes.ToArray(), labels.ToArray(), classNames);
    }

    /// <summary>
    /// Checks the columns, then every row; calls <paramref name="accept"/> with each valid row (0-based labels, clipped boxes)
    /// until the first problem, after which it only collects problems; throws them all at the end.
    /// </summary>
    private static (string[] ClassNames, int Clipped) ReadRows(IDataView data, string imageColumn, string labelColumn, string boxColumn,
        string dataName, CancellationToken cancellation, Action<long, MLImage, long[], float[]> accept)
    {
        var schema = data.Schema;
        var image = DetectionSchema.ImageColumn(schema, imageColumn, dataName);
        var label = DetectionSchema.LabelColumn(schema, labelColumn, dataName);
        var box = DetectionSchema.BoxColumn(schema, boxColumn, dataName);
        var classNames = DetectionSchema.ClassNames(label);
        var validator = new AnnotationValidator(dataName, labelColumn, boxColumn, classNames.Length);

        using var cursor = data.GetRowCursor(new[] { image, label, box });
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
                try
                {
                    getImage(ref picture!);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    validator.Error(row, $"the image in '{imageColumn}' could not be read: {e.Message}");
                    continue;
                }
                if (picture is null || picture.Width <= 0 || picture.Height <= 0)
                {
                    validator.Error(row, $"the image in '{imageColumn}' is empty.");
                    continue;
                }
                getLabels(ref keys);
                getBoxes(ref coordinates);
                var checkedRow = validator.Check(row, keys.DenseValues().ToArray(), coordinates.DenseValues().ToArray(), picture.Width, picture.Height);
                if (checkedRow is null || validator.ErrorCount > 0)
                    continue; // keep reading to report every problem; build nothing once one is found
                accept(row, picture, checkedRow.Value.Labels, checkedRow.Value.Boxes);
            }
        }
        finally
        {
            picture?.Dispose();
        }
        if (row < 0)
            throw new InvalidDataException($"The {dataName} has no rows; a detector needs at least one image.");
        validator.ThrowIfErrors();
        return (classNames, validator.ClippedCount);
    }
}
