using System.CommandLine;
using Microsoft.ML;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Trains on an annotated dataset and writes model.zip (ML.NET) and model.onnx.</summary>
internal static class TrainCommand
{
    public static System.CommandLine.Command Create()
    {
        var data = new DatasetArguments("", required: true);
        var validation = new DatasetArguments("val-", required: false);
        var output = new Option<string>("--output") { Description = "folder for model.zip and model.onnx", DefaultValueFactory = _
            => Path.Combine("runs", "train") };
        var trainer = new TrainerArguments(new RetinaNetTrainer.Options());
        var command = new System.CommandLine.Command("train",
            "Train RetinaNet on COCO, VOC, CSV or YOLO annotations; every trainer option is a flag.") { output };
        foreach (var o in data.All.Concat(validation.All).Concat(trainer.All)) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() =>
        {
            var options = trainer.Read(parse);
            var ml = new MLContext(options.Seed);
            ml.Log += (_, e) =>
            {
                if (e.Kind is Microsoft.ML.Runtime.ChannelMessageKind.Info or Microsoft.ML.Runtime.ChannelMessageKind.Warning
                    && e.Source.StartsWith(nameof(RetinaNetTrainer), StringComparison.Ordinal))
                    Terminal.Log(e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning ? "warning: " + e.RawMessage : e.RawMessage);
            };
            var (records, classes, folder) = data.Read(parse);
            var trainData = DatasetArguments.Prepare(ml, records, classes, folder);
            if (validation.Given(parse))
            {
                var (valRecords, _, valFolder) = validation.Read(parse);
                options.ValidationSet = DatasetArguments.Prepare(ml, valRecords, classes, valFolder);
            }
            using var model = Program.FitStoppingOnCtrlC(ml, options, trainData);
            string dir = parse.GetValue(output)!;
            Directory.CreateDirectory(dir);
            Program.SaveModel(ml, model, trainData.Schema, Path.Combine(dir, "model.zip"));
            model.ExportToOnnx(Path.Combine(dir, "model.onnx"));
            File.WriteAllLines(Path.Combine(dir, "classes.txt"), classes);
            Console.WriteLine($"wrote {Path.Combine(dir, "model.zip")}, model.onnx and classes.txt");
        }));
        return command;
    }
}
