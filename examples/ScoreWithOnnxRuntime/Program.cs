// Export the fitted model to ONNX and score it with plain ONNX Runtime — no ML.NET, no TorchSharp — the way a
// service in any language would: resize like ML.NET's IsoPad (aspect kept, centred, black), planar RGB 0–255.
// Run: dotnet run --project examples/ScoreWithOnnxRuntime -c Release
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.RetinaNet;
using Microsoft.ML.RetinaNet.Datasets;
using SkiaSharp;

string folder = Path.Combine(Path.GetTempPath(), "retinanet-onnx-example");
var rows = SyntheticShapes.Write(folder, count: 8, width: 160, height: 120, seed: 1);
var mlContext = new MLContext(seed: 1);
var data = mlContext.Transforms.Conversion.MapValueToKey("Label").Append(mlContext.Transforms.LoadImages("Image", folder, nameof(DetectionRecord.ImagePath)))
    .Fit(mlContext.Data.LoadFromEnumerable(rows)).Transform(mlContext.Data.LoadFromEnumerable(rows));
using var model = mlContext.MulticlassClassification.Trainers.RetinaNet(new RetinaNetTrainer.Options
{
    Depth = 18, ImageSize = 128, BatchSize = 4, Epochs = 30, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4, WarmupSteps = 5,
}).Fit(data);
string onnx = Path.Combine(folder, "retinanet.onnx");
model.ExportToOnnx(onnx);

using var session = new InferenceSession(onnx);
using var image = SKBitmap.Decode(Path.Combine(folder, rows[0].ImagePath));
int s = model.ImageSize;
float scale = Math.Min((float)s / image.Width, (float)s / image.Height);
int w = (int)(image.Width * scale), h = (int)(image.Height * scale);
int x0 = (int)((s - image.Width * scale) / 2), y0 = (int)((s - image.Height * scale) / 2);
using var resized = image.Resize(new SKImageInfo(w, h), new SKSamplingOptions(SKCubicResampler.Mitchell));
var pixels = new DenseTensor<float>(new[] { 1, 3, s, s }); // black padding
for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
    {
        var c = resized.GetPixel(x, y);
        pixels[0, 0, y0 + y, x0 + x] = c.Red; pixels[0, 1, y0 + y, x0 + x] = c.Green; pixels[0, 2, y0 + y, x0 + x] = c.Blue;
    }
var sizes = new DenseTensor<float>(new float[] { image.Height, image.Width }, new[] { 1, 2 });
using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("images", pixels), NamedOnnxValue.CreateFromTensor("image_sizes", sizes) });
long count = results.Single(r => r.Name == "count").AsTensor<long>()[0];
var boxes = results.Single(r => r.Name == "boxes").AsTensor<float>();
var scores = results.Single(r => r.Name == "scores").AsTensor<float>();
var labels = results.Single(r => r.Name == "labels").AsTensor<long>();
var viaMlNet = mlContext.Data.CreateEnumerable<Scores>(model.Transform(data), reuseRowObject: false).First();
Console.WriteLine($"{rows[0].ImagePath} ({image.Width}×{image.Height}): truth {string.Join(", ", rows[0].Label)}; {count} detections here, {viaMlNet.Score.Length} through the ML.NET model");
for (int i = 0; i < Math.Min(5, count); i++)
    Console.WriteLine($"  {model.ClassNames[(int)labels[0, i]]} {scores[0, i]:F3} [{boxes[0, i, 0]:F1}, {boxes[0, i, 1]:F1}, {boxes[0, i, 2]:F1}, {boxes[0, i, 3]:F1}]");

/// <summary>The score column, to compare with the ML.NET path.</summary>
public sealed class Scores
{
    public float[] Score { get; set; } = Array.Empty<float>();
}
