using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Data;

namespace Microsoft.ML.RetinaNet.Evaluation;

/// <summary>Names of the optional columns that make the evaluation read what pycocotools reads.</summary>
/// <param name="ImageId">a numeric column with each row's image id (images are evaluated in ascending id); null: row order</param>
/// <param name="Crowd">a Boolean vector, one flag per object (COCO's <c>iscrowd</c>); null or empty: no crowd regions</param>
/// <param name="Area">a Double (or Single) vector, one area per object (COCO's <c>area</c>); null or empty: the boxes' w·h</param>
internal sealed record CocoColumns(string? ImageId, string? Crowd, string? Area);

/// <summary>Reads ground truth and predictions from a scored IDataView and runs the COCO evaluation.</summary>
internal static class ScoredDataEvaluation
{
    public static DetectionMetrics Evaluate(IDataView data, string labelName, string boxName, string predictedLabelName, string scoreName,
        string predictedBoxName,
                                            CocoColumns? optional = null)
    {
        if (data is null) throw new ArgumentNullException(nameof(data));
        optional ??= new CocoColumns(null, null, null);
        var label = DetectionSchema.LabelColumn(data.Schema, labelName, "scored data");
        var box = DetectionSchema.BoxColumn(data.Schema, boxName, "scored data");
        var predictedLabel = DetectionSchema.LabelColumn(data.Schema, predictedLabelName, "scored data");
        var score = DetectionSchema.ScoreColumn(data.Schema, scoreName);
        var predictedBox = DetectionSchema.BoxColumn(data.Schema, predictedBoxName, "scored data");
        var imageId = optional.ImageId is null ? (DataViewSchema.Column?)null : Column(data.Schema, optional.ImageId,
            "a numeric image id (Int64, Int32, UInt32, UInt64, Single or Double)",
            t => t is NumberDataViewType);
        var crowd = optional.Crowd is null ? (DataViewSchema.Column?)null : Column(data.Schema, optional.Crowd,
            "a Boolean vector, one flag per object",
            t => t is VectorDataViewType { ItemType: BooleanDataViewType });
        var area = optional.Area is null ? (DataViewSchema.Column?)null : Column(data.Schema, optional.Area,
            "a Double or Single vector, one area per object",
            t => t is VectorDataViewType { ItemType: NumberDataViewType n } && (n.RawType == typeof(double) || n.RawType == typeof(float)));
        var classNames = DetectionSchema.ClassNames(label);
        var evaluator = new CocoEvaluator(classNames.Length);
        var validator = new AnnotationValidator("scored data", labelName, boxName, classNames.Length);

        var columns = new[] { label, box, predictedLabel, score, predictedBox }.Concat(new[] { imageId, crowd,
            area }.OfType<DataViewSchema.Column>());
        using var cursor = data.GetRowCursor(columns);
        var getLabel = cursor.GetGetter<VBuffer<uint>>(label);
        var getBox = cursor.GetGetter<VBuffer<float>>(box);
        var getPredictedLabel = cursor.GetGetter<VBuffer<uint>>(predictedLabel);
        var getScore = cursor.GetGetter<VBuffer<float>>(score);
        var getPredictedBox = cursor.GetGetter<VBuffer<float>>(predictedBox);
        var getId = imageId is { } idColumn ? IdGetter(cursor, idColumn) : null;
        var getCrowd = crowd is { } crowdColumn ? cursor.GetGetter<VBuffer<bool>>(crowdColumn) : null;
        var getArea = area is { } areaColumn ? AreaGetter(cursor, areaColumn) : null;
        VBuffer<uint> keys = default, predictedKeys = default;
        VBuffer<float> boxes = default, scores = default, predictedBoxes = default;
        VBuffer<bool> crowdFlags = default;
        long row = -1;
        while (cursor.MoveNext())
        {
            row++;
            getLabel(ref keys); getBox(ref boxes); getPredictedLabel(ref predictedKeys); getScore(ref scores); getPredictedBox(ref predictedBoxes);
            var gtKeys = keys.DenseValues().ToArray();
            var gtBoxes = boxes.DenseValues().ToArray();
            var checkedRow = validator.Check(row, gtKeys, gtBoxes, int.MaxValue, int.MaxValue);
            var pk = predictedKeys.DenseValues().ToArray();
            var ps = scores.DenseValues().ToArray();
            var pb = predictedBoxes.DenseValues().ToArray();
            if (ps.Length != pk.Length || pb.Length != 4 * pk.Length)
            {
                validator.Error(row, $"{pk.Length} predicted labels, {ps.Length} scores and {pb.Length} predicted box values do not agree (one "
                    + $"score and 4 values per detection).");
                continue;
            }
            if (pk.Any(k => k == 0 || k > classNames.Length))
            {
                validator.Error(row, $"a predicted label key is outside 1..{classNames.Length}.");
                continue;
            }
            bool[]? flags = null;
            if (getCrowd != null)
            {
                getCrowd(ref crowdFlags);
                flags = crowdFlags.DenseValues().ToArray();
                if (flags.Length == 0) flags = null;
                else if (flags.Length != gtKeys.Length)
                {
                    validator.Error(row, $"column '{optional.Crowd}' has {flags.Length} flags for {gtKeys.Length} objects (one per object, or "
                        + $"none).");
                    continue;
                }
            }
            double[]? areas = getArea?.Invoke();
            if (areas is { Length: > 0 } && areas.Length != gtKeys.Length)
            {
                validator.Error(row, $"column '{optional.Area}' has {areas.Length} areas for {gtKeys.Length} objects (one per object, or none).");
                continue;
            }
            if (checkedRow is null) continue;
            // the validated boxes in the row's own values: only clipping would change them, and evaluation never clips
            var gt = CocoBox.FromCorners(gtBoxes, areas);
            var dt = CocoBox.FromCorners(pb);
            long id = getId?.Invoke() ?? row;
            try
            {
                evaluator.Add(id, gt, checkedRow.Value.Labels.Select(l => (int)l).ToArray(), flags, dt, ps.Select(v => (double)v).ToArray(),
                    pk.Select(k => (int)k - 1).ToArray());
            }
            catch (ArgumentException e) when (e.ParamName == "imageId")
            {
                validator.Error(row, $"image id {id} in column '{optional.ImageId}' appears in an earlier row too; each image needs its own id.");
            }
        }
        if (row < 0)
            throw new InvalidDataException("The scored data has no rows to evaluate.");
        validator.ThrowIfErrors();
        return evaluator.Evaluate(classNames);
    }

    private static DataViewSchema.Column Column(DataViewSchema schema, string name, string expected, Func<DataViewType, bool> accepts)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentException($"The scored data has no column '{name}' ({expected}).", nameof(schema));
        if (!accepts(column.Type))
            throw new ArgumentException($"Column '{name}' of the scored data must be {expected} but is {column.Type}.", nameof(schema));
        return column;
    }

    private static Func<long> IdGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        Type raw = column.Type.RawType;
        if (raw == typeof(long)) { var g = cursor.GetGetter<long>(column); return () => { long v = 0; g(ref v); return v; }; }
        if (raw == typeof(int)) { var g = cursor.GetGetter<int>(column); return () => { int v = 0; g(ref v); return v; }; }
        if (raw == typeof(uint)) { var g = cursor.GetGetter<uint>(column); return () => { uint v = 0; g(ref v); return v; }; }
        if (raw == typeof(ulong)) { var g = cursor.GetGetter<ulong>(column); return () => { ulong v = 0; g(ref v); return checked((long)v); }; }
        if (raw == typeof(float)) { var g = cursor.GetGetter<float>(column); return () => { float v = 0; g(ref v); return WholeNumber(v); }; }
        if (raw == typeof(double)) { var g = cursor.GetGetter<double>(column); return () => { double v = 0; g(ref v); return WholeNumber(v); }; }
        throw new ArgumentException($"Column '{column.Name}' must hold whole-number image ids but is {column.Type}.");
    }

    private static long WholeNumber(double v) =>
        v == Math.Floor(v) && Math.Abs(v) < 9e15 ? (long)v : throw new InvalidDataException($"Image id {v} is not a whole number.");

    private static Func<double[]> AreaGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        if (((VectorDataViewType)column.Type).ItemType.RawType == typeof(double))
        {
            var g = cursor.GetGetter<VBuffer<double>>(column);
            VBuffer<double> values = default;
            return () => { g(ref values); return values.DenseValues().ToArray(); };
        }
        var f = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> singles = default;
        return () => { f(ref singles); return singles.DenseValues().Select(v => (double)v).ToArray(); };
    }
}
