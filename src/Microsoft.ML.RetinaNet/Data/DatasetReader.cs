using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Data;

/// <summary>Reads and validates the detection columns of an IDataView into letterboxed in-memory examples.</summary>
internal static class DatasetReader
{
    public static DetectionDataset Read(IDataView data, string imageColumn, string labelColumn, string boxColumn, int canvasSize,
        string dataName, CancellationToken cancellation = default)
    {
        var schema = data.Schema;
        var image = DetectionSchema.ImageColumn(schema, imageColumn, dataName);
        var label = DetectionSchema.LabelColumn(schema, labelColumn, dataName);
        var box = DetectionSchema.BoxColumn(schema, boxColumn, dataName);
        var classNames = DetectionSchema.ClassNames(label);
        var validator = new AnnotationValidator(dataName, labelColumn, boxColumn, classNames.Length);

        var examples = new List<DetectionExample>();
        try
        {
            using var cursor = data.GetRowCursor(new[] { image, label, box });
            var getImage = cursor.GetGetter<MLImage>(image);
            var getLabels = cursor.GetGetter<VBuffer<uint>>(label);
            var getBoxes = cursor.GetGetter<VBuffer<float>>(box);
            MLImage? picture = null;
            VBuffer<uint> keys = default;
            VBuffer<float> coordinates = default;
            long row = -1;
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
                var letterbox = Letterbox.For(picture.Width, picture.Height, canvasSize);
                var (labels, boxes) = checkedRow.Value;
                for (int i = 0; i < boxes.Length; i++)
                    boxes[i] *= letterbox.Scale;
                examples.Add(new DetectionExample(row, letterbox.Resize(picture), boxes, labels, letterbox));
            }
            picture?.Dispose();
            if (row < 0)
                throw new InvalidDataException($"The {dataName} has no rows; a detector needs at least one image.");
            validator.ThrowIfErrors();
            return new DetectionDataset(examples, classNames, validator.ClippedCount);
        }
        catch
        {
            foreach (var e in examples) e.Dispose();
            throw;
        }
    }
}
