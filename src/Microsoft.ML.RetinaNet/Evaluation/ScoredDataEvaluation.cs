using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Data;

namespace Microsoft.ML.RetinaNet.Evaluation;

/// <summary>Reads ground truth and predictions from a scored IDataView and runs the COCO evaluation.</summary>
internal static class ScoredDataEvaluation
{
    public static DetectionMetrics Evaluate(IDataView data, string labelName, string boxName, string predictedLabelName, string scoreName, string predictedBoxName)
    {
        if (data is null) throw new ArgumentNullException(nameof(data));
        var label = DetectionSchema.LabelColumn(data.Schema, labelName, "scored data");
        var box = DetectionSchema.BoxColumn(data.Schema, boxName, "scored data");
        var predictedLabel = DetectionSchema.LabelColumn(data.Schema, predictedLabelName, "scored data");
        var score = DetectionSchema.ScoreColumn(data.Schema, scoreName);
        var predictedBox = DetectionSchema.BoxColumn(data.Schema, predictedBoxName, "scored data");
        var classNames = DetectionSchema.ClassNames(label);
        var evaluator = new CocoEvaluator(classNames.Length);
        var validator = new AnnotationValidator("scored data", labelName, boxName, classNames.Length);

        using var cursor = data.GetRowCursor(new[] { label, box, predictedLabel, score, predictedBox });
        var getLabel = cursor.GetGetter<VBuffer<uint>>(label);
        var getBox = cursor.GetGetter<VBuffer<float>>(box);
        var getPredictedLabel = cursor.GetGetter<VBuffer<uint>>(predictedLabel);
        var getScore = cursor.GetGetter<VBuffer<float>>(score);
        var getPredictedBox = cursor.GetGetter<VBuffer<float>>(predictedBox);
        VBuffer<uint> keys = default, predictedKeys = default;
        VBuffer<float> boxes = default, scores = default, predictedBoxes = default;
        long row = -1;
        while (cursor.MoveNext())
        {
            row++;
            getLabel(ref keys); getBox(ref boxes); getPredictedLabel(ref predictedKeys); getScore(ref scores); getPredictedBox(ref predictedBoxes);
            var checkedRow = validator.Check(row, keys.DenseValues().ToArray(), boxes.DenseValues().ToArray(), int.MaxValue, int.MaxValue);
            var pk = predictedKeys.DenseValues().ToArray();
            var ps = scores.DenseValues().ToArray();
            var pb = predictedBoxes.DenseValues().ToArray();
            if (ps.Length != pk.Length || pb.Length != 4 * pk.Length)
            {
                validator.Error(row, $"{pk.Length} predicted labels, {ps.Length} scores and {pb.Length} predicted box values do not agree (one score and 4 values per detection).");
                continue;
            }
            if (pk.Any(k => k == 0 || k > classNames.Length))
            {
                validator.Error(row, $"a predicted label key is outside 1..{classNames.Length}.");
                continue;
            }
            if (checkedRow is null) continue;
            evaluator.Add(checkedRow.Value.Boxes, checkedRow.Value.Labels.Select(l => (int)l).ToArray(), null, pb, ps, pk.Select(k => (int)k - 1).ToArray());
        }
        if (row < 0)
            throw new InvalidDataException("The scored data has no rows to evaluate.");
        validator.ThrowIfErrors();
        return evaluator.Evaluate(classNames);
    }
}
