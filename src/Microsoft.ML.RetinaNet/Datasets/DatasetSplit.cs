namespace Microsoft.ML.RetinaNet.Datasets;

/// <summary>Where <see cref="SkiSceneDataset.Generate"/> put a split: its image folder and its COCO file.</summary>
public sealed record DatasetSplit(string Name, string ImageFolder, string CocoFile, IReadOnlyList<DetectionRecord> Records);
