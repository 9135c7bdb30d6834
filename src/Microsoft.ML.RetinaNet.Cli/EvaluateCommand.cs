using System.CommandLine;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>COCO metrics of a saved model on an annotated dataset, overall and per class.</summary>
internal static class EvaluateCommand
{
    public static System.CommandLine.Command Create()
    {
        var model = new Option<string?>("--model") { Description = "model .zip saved by train (or give --results)" };
        var results = new Option<string?>("--results") { Description = "a COCO results file (image_id, category_id, bbox x,y,w,h, score) to "
            + "evaluate against the COCO --annotations, with no model, as pycocotools does" };
        var data = new DatasetArguments("", required: false);
        var output = new Option<string?>("--output") { Description = "folder for metrics.md and metrics.json (optional)" };
        var command = new System.CommandLine.Command("evaluate",
            "COCO mAP of a saved model on an annotated dataset, or of a COCO results file (--results) against COCO annotations.") { model, results,
                output };
        foreach (var o in data.All) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() =>
        {
            string annotations = parse.GetValue(data.Annotations) ?? throw new ArgumentException("--annotations is needed: the ground truth to "
                + "evaluate against.");
            if (parse.GetValue(results) is { } resultsPath)
            {
                if (parse.GetValue(model) is not null)
                    throw new ArgumentException("give --model (score a dataset) or --results (a COCO results file), not both");
                if (parse.GetValue(data.Format) != Datasets.Formats.AnnotationFormat.Coco)
                    throw new ArgumentException("--results is evaluated against COCO annotations (--format Coco)");
                var fromFile = new MLContext().MulticlassClassification.EvaluateCocoResults(annotations, resultsPath);
                Report(fromFile, parse.GetValue(output));
                return 0;
            }
            var ml = new MLContext(seed: 1);
            var loaded = ml.Model.LoadRetinaNet(parse.GetValue(model) ?? throw new ArgumentException("--model (a model.zip) or --results (a COCO "
                + "results file) is needed"), out _);
            // crowd regions are kept, flagged, and ignored by the evaluation as pycocotools ignores them
            var (all, datasetClasses, folder) = data.Read(parse, Datasets.Formats.CrowdAnnotations.Keep);
            // an image that cannot be read is named and left out with its ground truth; the metrics cover the others
            var unreadable = new UnreadableImages();
            var readable = unreadable.KeepReadable(all.Select(r => Path.Combine(folder, r.ImagePath))).ToHashSet(StringComparer.Ordinal);
            var records = all.Where(r => readable.Contains(Path.Combine(folder, r.ImagePath))).ToList();
            if (records.Count == 0)
                throw new InvalidDataException($"none of the {all.Count} images in '{folder}' can be read (named above)");
            // label keys must follow the model's class order: read it from the model's output on this data
            var classNames = ClassNames(loaded.GetOutputSchema(DatasetArguments.Prepare(ml, records, datasetClasses, folder).Schema));
            var unknown = datasetClasses.Except(classNames).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"the dataset has classes the model does not know: {string.Join(", ", unknown)} (model "
                    + $"classes: {string.Join(", ", classNames)})");
            var metrics = ml.MulticlassClassification.EvaluateCocoDetection(loaded.Transform(DatasetArguments.Prepare(ml, records, classNames,
                folder)),
                imageIdColumnName: nameof(DetectionRecord.ImageId), crowdColumnName: nameof(DetectionRecord.IsCrowd),
                    areaColumnName: nameof(DetectionRecord.Area));
            Report(metrics, parse.GetValue(output));
            if (unreadable.Count > 0)
                Console.WriteLine($"(metrics over the {records.Count} readable images of {all.Count})");
            return unreadable.Finish(all.Count);
        }));
        return command;
    }

    private static void Report(Evaluation.DetectionMetrics metrics, string? folder)
    {
        Console.WriteLine(metrics.ToMarkdown());
        if (folder is null)
            return;
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "metrics.md"), metrics.ToMarkdown());
        File.WriteAllText(Path.Combine(folder, "metrics.json"), JsonSerializer.Serialize(metrics,
            new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The class names a model predicts, from its PredictedLabel key values.</summary>
    public static string[] ClassNames(DataViewSchema outputSchema)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        outputSchema[DefaultColumnNames.PredictedLabel].GetKeyValues(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
