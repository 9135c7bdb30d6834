// Which anchors for this data? Tune them on the ski-scene boxes (persons, poles h/w ≈ 10, skis h/w ≈ 0.06, ski poles),
// print the report and draw the picture. With an IDataView of the trainer's columns, call AnchorTuner.Tune(data, options)
// instead, or set RetinaNetTrainer.Options.TuneAnchors = true to tune before training.
// Run: dotnet run --project examples/TuneAnchors -c Release -- [output folder]
using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Datasets;

string output = args.Length > 0 ? args[0] : "docs";
BoxSet boxes = SkiSceneBoxes.Sample(count: 2000, canvas: 640, seed: 1);
AnchorTuningResult result = AnchorTuner.Tune(boxes, new AnchorTuningOptions { ImageSize = 640 });

Console.WriteLine(result.ToMarkdown());
Console.WriteLine($"train with: {result.Anchors}");
Directory.CreateDirectory(output);
File.WriteAllText(Path.Combine(output, "anchors-ski-scene.md"), result.ToMarkdown());
result.SavePlot(Path.Combine(output, "anchors-ski-scene.png"));
