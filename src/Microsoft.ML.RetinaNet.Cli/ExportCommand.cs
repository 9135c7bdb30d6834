using System.CommandLine;
using Microsoft.ML;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Writes the detector of a saved model.zip as a stand-alone ONNX file for plain ONNX Runtime, float32 or int8.</summary>
internal static class ExportCommand
{
    public static System.CommandLine.Command Create()
    {
        var model = new Option<string>("--model") { Description = "model .zip saved with mlContext.Model.Save (train and the main job write one)",
            Required = true };
        var output = new Option<string>("--output") { Description = "ONNX file to write", DefaultValueFactory = _ => "model.onnx" };
        var int8 = new Option<bool>("--int8") { Description = "write the int8 graph (int8 convolution weights, uint8 activations calibrated on "
            + "--calibration-* images; decoding and NMS in float32) [default: False]" };
        var count = new Option<int>("--calibration-count") { Description = "calibrate on at most this many images", DefaultValueFactory = _ => 64 };
        var calibration = new DatasetArguments("calibration-", required: false);
        var test = new DatasetArguments("test-", required: false);
        var command = new System.CommandLine.Command("export",
            "Export a saved model as ONNX: inputs images (N,3,S,S RGB 0-255, IsoPad-resized) and image_sizes (N,2); outputs boxes, scores, labels, "
                + "count. "
            + "--int8 writes the quantised graph, calibrated on training images (--calibration-*) and, with --test-*, evaluated against the float32 "
                + "model.")
        {
            model, output, int8, count,
        };
        foreach (var o in calibration.All.Concat(test.All)) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() =>
        {
            string path = parse.GetValue(output)!;
            string modelPath = parse.GetValue(model)!;
            var ml = new MLContext(seed: 1);
            if (!parse.GetValue(int8))
            {
                if (calibration.Given(parse) || test.Given(parse))
                    throw new ArgumentException("--calibration-* and --test-* are read only with --int8");
                ml.Model.ExportRetinaNetToOnnx(modelPath, path);
                Console.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1e6:F1} MB)");
                return 0;
            }
            if (!calibration.Given(parse))
                throw new ArgumentException("--int8 needs calibration images: --calibration-annotations and --calibration-images (a sample of the "
                    + "training set; --calibration-format if not COCO)");
            var (calibrationRecords, calibrationClasses, calibrationFolder) = calibration.Read(parse);
            var settings = new Int8Calibration
            {
                Images = DatasetArguments.Prepare(ml, calibrationRecords, calibrationClasses, calibrationFolder),
                MaxImages = parse.GetValue(count),
            };
            if (test.Given(parse))
            {
                var (records, classes, folder) = test.Read(parse, Datasets.Formats.CrowdAnnotations.Keep);
                // label keys in the model's class order, read from its output schema
                var loaded = ml.Model.LoadRetinaNet(modelPath, out _);
                string[] modelClasses;
                try
                {
                    modelClasses = EvaluateCommand.ClassNames(loaded.GetOutputSchema(DatasetArguments.Prepare(ml, records, classes, folder).Schema));
                }
                finally
                {
                    (loaded as IDisposable)?.Dispose();
                }
                var unknown = classes.Except(modelClasses).ToList();
                if (unknown.Count > 0)
                    throw new ArgumentException($"the --test-* dataset has classes the model does not know: {string.Join(", ", unknown)} (model "
                        + $"classes: {string.Join(", ", modelClasses)})");
                settings.EvaluationData = DatasetArguments.Prepare(ml, records, modelClasses, folder);
            }
            var report = ml.Model.ExportRetinaNetToOnnx(modelPath, path, settings);
            Console.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1e6:F1} MB)");
            Console.WriteLine(report);
            return 0;
        }));
        return command;
    }
}
