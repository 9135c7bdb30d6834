using System.CommandLine;
using Microsoft.ML;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>Writes the detector of a saved model.zip as a stand-alone ONNX file for plain ONNX Runtime.</summary>
internal static class ExportCommand
{
    public static System.CommandLine.Command Create()
    {
        var model = new Option<string>("--model") { Description = "model .zip saved with mlContext.Model.Save (train and the main job write one)", Required = true };
        var output = new Option<string>("--output") { Description = "ONNX file to write", DefaultValueFactory = _ => "model.onnx" };
        var command = new System.CommandLine.Command("export",
            "Export a saved model as ONNX: inputs images (N,3,S,S RGB 0-255, IsoPad-resized) and image_sizes (N,2); outputs boxes, scores, labels, count.")
        {
            model, output,
        };
        command.SetAction(parse => Program.Guard(() =>
        {
            string path = parse.GetValue(output)!;
            new MLContext().Model.ExportRetinaNetToOnnx(parse.GetValue(model)!, path);
            Console.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1e6:F1} MB)");
        }));
        return command;
    }
}
