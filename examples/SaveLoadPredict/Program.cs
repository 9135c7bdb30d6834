// Train, save with mlContext.Model.Save, load in a fresh MLContext (LoadRetinaNet registers RetinaNet's transforms and
// checks the file) and predict one image with a PredictionEngine.
// Run: dotnet run --project examples/SaveLoadPredict -c Release
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.RetinaNet;
using Microsoft.ML.RetinaNet.Datasets;

string folder = Path.Combine(Path.GetTempPath(), "retinanet-save-load-example");
var rows = SyntheticShapes.Write(folder, count: 8, width: 128, height: 128, seed: 1);

var mlContext = new MLContext(seed: 1);
var data = mlContext.Data.LoadFromEnumerable(rows);
var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
    .Append(mlContext.Transforms.LoadImages("Image", folder, nameof(DetectionRecord.ImagePath)))
    .Append(mlContext.MulticlassClassification.Trainers.RetinaNet(new RetinaNetTrainer.Options
    {
        Depth = 18, ImageSize = 128, BatchSize = 4, Epochs = 20, Optimizer = RetinaNetOptimizer.AdamW, LearningRate = 5e-4, WarmupSteps = 5,
    }));
var model = pipeline.Fit(data);
string path = Path.Combine(folder, "model.zip");
mlContext.Model.Save(model, data.Schema, path);
Console.WriteLine($"saved {path} ({new FileInfo(path).Length / 1e6:F1} MB)");

var fresh = new MLContext();
ITransformer loaded = fresh.Model.LoadRetinaNet(path, out var inputSchema);
var engine = fresh.Model.CreatePredictionEngine<DetectionRecord, Detections>(loaded);
var prediction = engine.Predict(rows[0]);
Console.WriteLine($"{rows[0].ImagePath}: truth {string.Join(", ", rows[0].Label)}");
// PredictedLabel holds keys (1-based); the class names are the key values of the column
VBuffer<ReadOnlyMemory<char>> names = default;
loaded.GetOutputSchema(inputSchema)["PredictedLabel"].GetKeyValues(ref names);
var classNames = names.DenseValues().Select(n => n.ToString()).ToArray();
for (int i = 0; i < Math.Min(5, prediction.Score.Length); i++)
    Console.WriteLine($"  {classNames[prediction.PredictedLabel[i] - 1]} score {prediction.Score[i]:F3} box [{string.Join(", ", prediction.PredictedBoundingBoxes.Skip(4 * i).Take(4).Select(v => v.ToString("F1")))}]");

/// <summary>The output columns as a class: keys, scores, 4 box values per detection.</summary>
public sealed class Detections
{
    public uint[] PredictedLabel { get; set; } = Array.Empty<uint>();
    public float[] Score { get; set; } = Array.Empty<float>();
    public float[] PredictedBoundingBoxes { get; set; } = Array.Empty<float>();
}
