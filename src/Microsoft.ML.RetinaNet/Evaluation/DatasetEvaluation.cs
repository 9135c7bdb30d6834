using Microsoft.ML.RetinaNet.Data;
using Microsoft.ML.RetinaNet.Scoring;

namespace Microsoft.ML.RetinaNet.Evaluation;

/// <summary>COCO metrics of a detector on in-memory examples, in the original images' pixels.</summary>
internal static class DatasetEvaluation
{
    public static DetectionMetrics Evaluate(DetectorModel model, DetectionDataset dataset, int batchSize, CancellationToken cancellation = default)
    {
        var evaluator = new CocoEvaluator(dataset.ClassNames.Length);
        var examples = dataset.Examples;
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var chunk = examples.Skip(start).Take(batchSize).ToList();
            var predictions = model.Detect(chunk.Select(e => (e.Pixels, e.Letterbox)).ToList());
            for (int i = 0; i < chunk.Count; i++)
            {
                var gt = chunk[i].Letterbox.ContentToOriginal((float[])chunk[i].Boxes.Clone());
                var p = predictions[i];
                evaluator.Add(gt, chunk[i].Labels.Select(l => (int)l).ToArray(), null, p.Boxes, p.Scores, p.Keys.Select(k => (int)k - 1).ToArray());
            }
        }
        return evaluator.Evaluate(dataset.ClassNames);
    }
}
