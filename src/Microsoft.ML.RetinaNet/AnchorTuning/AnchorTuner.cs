using Microsoft.ML.RetinaNet.Data;

namespace Microsoft.ML.RetinaNet.AnchorTuning;

/// <summary>
/// Derives the four anchor hyper-parameters from the data: the closest-base method per label (scales and ratios), then an
/// optimiser of sizes, scales, ratios and strides (<see cref="AnchorFitness"/>: per-class coverage and positives per box),
/// never returning a lower fitness than the anchors it started from.
/// </summary>
public static class AnchorTuner
{
    /// <summary>Tunes on boxes already in training-canvas pixels.</summary>
    public static AnchorTuningResult Tune(BoxSet boxes, AnchorTuningOptions? options = null)
    {
        options ??= new AnchorTuningOptions();
        options.Validate();
        if (boxes.Count == 0)
            throw new ArgumentException("Anchor tuning needs at least one box; the data has none.", nameof(boxes));
        var statistics = LabelBoxStatistics.Compute(boxes, options.Statistic, options.Percentile);
        var rows = ClosestBaseMethod.Rows(statistics, options.BaseAnchors.Sizes, options.FixedBaseSize);
        var methodAnchors = ClosestBaseMethod.Anchors(rows, options.BaseAnchors);
        var baseCoverage = AnchorCoverage.Compute(options.BaseAnchors, boxes, options.ImageSize, options.IouThreshold);
        var methodCoverage = AnchorCoverage.Compute(methodAnchors, boxes, options.ImageSize, options.IouThreshold);

        var optimised = AnchorOptimizer.Optimise(boxes, options, new[] { options.BaseAnchors, methodAnchors });
        var coverage = AnchorCoverage.Compute(optimised, boxes, options.ImageSize, options.IouThreshold);
        if (AnchorFitness.Of(coverage, boxes, options) < AnchorFitness.Of(baseCoverage, boxes, options))
            (optimised, coverage) = (options.BaseAnchors.Clone(), baseCoverage); // never worse than where it started
        return new AnchorTuningResult(boxes, options, rows, methodAnchors, baseCoverage, methodCoverage, optimised, coverage);
    }

    /// <summary>
    /// Tunes on an IDataView with the trainer's columns (Image, Label keys, BoundingBoxes); boxes are letterboxed to
    /// <see cref="AnchorTuningOptions.ImageSize"/> as training does. Bad rows are reported as the trainer reports them.
    /// </summary>
    public static AnchorTuningResult Tune(IDataView data, AnchorTuningOptions? options = null, string imageColumnName = DefaultColumnNames.Image,
        string labelColumnName = DefaultColumnNames.Label, string boundingBoxColumnName = DefaultColumnNames.BoundingBoxes)
    {
        options ??= new AnchorTuningOptions();
        return Tune(DatasetReader.ReadBoxes(data, imageColumnName, labelColumnName, boundingBoxColumnName, options.ImageSize,
            "data to tune anchors on"), options);
    }
}
