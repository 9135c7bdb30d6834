using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.RetinaNet.Modeling;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// A torchvision RetinaNet .pth (e.g. COCO weights) with its class names, as a model.zip and model.onnx, without training.
/// </summary>
internal static class ImportCommand
{
    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    public static System.CommandLine.Command Create()
    {
        var pth = new Option<string>("--pth") { Description = "torchvision RetinaNet state_dict (.pth), e.g. retinanet_resnet50_fpn's COCO weights",
            Required = true };
        var classes = new Option<string>("--classes") { Description = "text file with one class name per line, in the order of the file's "
            + "classification layer (torchvision's COCO weights: 91 names, __background__ and N/A included)", Required = true };
        var output = new Option<string>("--output") { Description = "folder for model.zip, model.onnx and classes.txt", DefaultValueFactory = _
            => Path.Combine("runs", "import") };
        var defaults = new RetinaNetTrainer.Options();
        var depth = new Option<int>("--depth") { Description = "ResNet depth of the file's backbone: 18, 34, 50, 101 or 152",
            DefaultValueFactory = _ => defaults.Depth };
        var version = new Option<RetinaNetVersion>("--version") { Description = "V1 (retinanet_resnet50_fpn) or V2 (retinanet_resnet50_fpn_v2)",
            DefaultValueFactory = _ => defaults.Version };
        var imageSize = new Option<int>("--image-size") { Description = "letterbox size, a multiple of 32", DefaultValueFactory = _
            => defaults.ImageSize };
        var scoreThreshold = new Option<double>("--score-threshold") { Description = "minimum detection score", DefaultValueFactory = _
            => defaults.ScoreThreshold };
        var maxDetections = new Option<int>("--max-detections") { Description = "most detections per image", DefaultValueFactory = _
            => defaults.MaxDetectionsPerImage };
        var command = new System.CommandLine.Command("import",
            "Turn a torchvision RetinaNet .pth and its class names into model.zip and model.onnx, without training.")
            { pth, classes, output, depth, version, imageSize, scoreThreshold, maxDetections };
        command.SetAction(parse => Program.Guard(() =>
        {
            string classFile = parse.GetValue(classes)!;
            if (!File.Exists(classFile))
                throw new FileNotFoundException($"The class file '{classFile}' does not exist; write one class name per line.", classFile);
            var names = File.ReadAllLines(classFile).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            var options = new RetinaNetTrainer.Options
            {
                Depth = parse.GetValue(depth), Version = parse.GetValue(version), ImageSize = parse.GetValue(imageSize),
                ScoreThreshold = parse.GetValue(scoreThreshold), MaxDetectionsPerImage = parse.GetValue(maxDetections),
            };
            var ml = new MLContext(seed: 1);
            using var model = ml.MulticlassClassification.Trainers.RetinaNetFromTorchvision(parse.GetValue(pth)!, names, options);
            // the model starts from the image column, as train saves it: score, predict and evaluate give it both
            var paths = ml.Data.LoadFromEnumerable(Array.Empty<PathRow>());
            var schema = ml.Transforms.LoadImages(model.ImageColumnName, null, nameof(PathRow.ImagePath)).Fit(paths).Transform(paths).Schema;
            string folder = parse.GetValue(output)!;
            Directory.CreateDirectory(folder);
            Program.SaveModel(ml, model, schema, Path.Combine(folder, "model.zip"));
            model.ExportToOnnx(Path.Combine(folder, "model.onnx"));
            File.WriteAllLines(Path.Combine(folder, "classes.txt"), names);
            Console.WriteLine($"wrote {Path.Combine(folder, "model.zip")}, model.onnx and classes.txt: "
                + $"ResNet-{options.Depth} {options.Version}, {names.Length} classes, {options.ImageSize}×{options.ImageSize}");
        }));
        return command;
    }
}
