using System.CommandLine;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>COCO metrics of a saved model on an annotated dataset, overall and per class.</summary>
internal static class EvaluateCommand
{
    public static System.CommandLine.Command Create()
    {
        var model = new Option<string>("--model") { Description = "model .zip saved by train", Required = true };
        var data = new DatasetArguments("", required: true);
        var output = new Option<string?>("--output") { Description = "folder for metrics.md and metrics.json (optional)" };
        var command = new System.CommandLine.Command("evaluate", "COCO mAP of a saved model on an annotated dataset.") { model, output };
        foreach (var o in data.All) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() =>
        {
            var ml = new MLContext(seed: 1);
            var loaded = ml.Model.LoadRetinaNet(parse.GetValue(model)!, out _);
            var (all, datasetClasses, folder) = data.Read(parse);
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
                throw new ArgumentException($"the dataset has classes the model does not know: {string.Join(", ", unknown)} (model classes: {string.Join(", ", classNames)})");
            var metrics = ml.MulticlassClassification.EvaluateCocoDetection(loaded.Transform(DatasetArguments.Prepare(ml, records, classNames, folder)));
            Console.WriteLine(metrics.ToMarkdown());
            if (parse.GetValue(output) is { } dir)
            {
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, "metrics.md"), metrics.ToMarkdown());
                File.WriteAllText(Path.Combine(dir, "metrics.json"), JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));
            }
            if (unreadable.Count > 0)
                Console.WriteLine($"(metrics over the {records.Count} readable images of {all.Count})");
            return unreadable.Finish(all.Count);
        }));
        return command;
    }

    /// <summary>The class names a model predicts, from its PredictedLabel key values.</summary>
    public static string[] ClassNames(DataViewSchema outputSchema)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        outputSchema[DefaultColumnNames.PredictedLabel].GetKeyValues(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
