namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>
/// The ids of a COCO annotation file that a results file refers to: image ids by file name, category ids by category name
/// (<see cref="CocoFormat.ReadIds"/>).
/// </summary>
public sealed record CocoIds(IReadOnlyDictionary<string, long> Images, IReadOnlyDictionary<string, long> Categories);
