using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// The anchor study: the same training budget on the ski scenes with {torchvision's default anchors, the closest-base
/// method's, the optimised ones} × {from scratch, ML.NET's pretrained ResNet-18} × seeds, evaluated on one test split;
/// writes a Markdown report with the coverage of each anchor set, per-class AP50 and mAP (mean ± sd over seeds) and
/// time, and a picture of per-class AP50.
/// </summary>
internal static class AnchorStudyCommand
{
    /// <summary>
    /// The budget of each run, the main job's settings (384², AdamW 5e-4, cosine) with 120 training images and 2 epochs, so
    /// that 18 runs take about 45 minutes on 2 cores (200 images took 6.2 minutes a run from scratch); the flags change it.
    /// </summary>
    public static RetinaNetTrainer.Options Defaults
    {
        get
        {
            var o = MainJobCommand.Defaults;
            o.Epochs = 2;
            return o;
        }
    }

    public static System.CommandLine.Command Create()
    {
        var output = new Option<string>("--output") { Description = "run folder (data, per-run logs)", DefaultValueFactory = _ => Path.Combine("runs", "anchor-study") };
        var report = new Option<string>("--report") { Description = "the Markdown report; the picture is written beside it (.png)", DefaultValueFactory = _ => Path.Combine("docs", "anchor-study.md") };
        var seeds = new Option<int>("--seeds") { Description = "training seeds per configuration (1, 2, …)", DefaultValueFactory = _ => 3 };
        var train = new Option<int>("--train") { Description = "training images", DefaultValueFactory = _ => 120 };
        var test = new Option<int>("--test") { Description = "test images", DefaultValueFactory = _ => 60 };
        var objectScale = new Option<double>("--object-scale") { Description = "object size relative to the scene (1: the main job's)", DefaultValueFactory = _ => 1.0 };
        var trainer = new TrainerArguments(Defaults);
        var command = new System.CommandLine.Command("anchor-study", "Train the same budget with default, closest-base and optimised anchors, from scratch and pretrained, over several seeds; write docs/anchor-study.md.")
        {
            output, report, seeds, train, test, objectScale,
        };
        foreach (var o in trainer.All) command.Options.Add(o);
        command.SetAction(parse => Program.Guard(() => Run(parse.GetValue(output)!, parse.GetValue(report)!, parse.GetValue(seeds), parse.GetValue(train),
            parse.GetValue(test), parse.GetValue(objectScale), () => trainer.Read(parse), string.Join(' ', parse.Tokens.Select(t => t.Value).SkipWhile(t => t == "anchor-study")))));
        return command;
    }

    private static void Run(string output, string reportPath, int seedCount, int trainCount, int testCount, double objectScale, Func<RetinaNetTrainer.Options> readBudget, string arguments)
    {
        var budget = readBudget();
        if (seedCount < 1) throw new ArgumentOutOfRangeException("--seeds", seedCount, "--seeds must be at least 1.");
        var clock = Stopwatch.StartNew();
        var started = DateTime.UtcNow;
        int size = budget.ImageSize;
        var splits = SkiSceneDataset.Generate(Path.Combine(output, "data"), trainCount, 0, testCount, size, seed: 1, objectScale);
        var ml = new MLContext(1);
        var classes = SkiSceneBoxes.Classes;
        var trainData = DatasetArguments.Prepare(ml, splits[0].Records, classes, splits[0].ImageFolder);
        var testData = DatasetArguments.Prepare(ml, splits[2].Records, classes, splits[2].ImageFolder);
        var tuning = AnchorTuner.Tune(trainData, new AnchorTuningOptions { ImageSize = size, Seed = 1, IouThreshold = budget.ForegroundIouThreshold });
        var anchorSets = new[]
        {
            new StudyAnchors("default", new AnchorOptions(), tuning.BaseCoverage),
            new StudyAnchors("closest base", tuning.MethodAnchors, tuning.MethodCoverage),
            new StudyAnchors("optimised", tuning.Anchors, tuning.Coverage),
        };
        var sizes = new[] { 256, 384, 512, 640 }.Select(imageSize => (imageSize, CoverageAt(tuning.Boxes, size, imageSize, budget.ForegroundIouThreshold))).ToList();
        Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {trainCount} training and {testCount} test scenes at {size}²; anchor sets: " +
            string.Join("; ", anchorSets.Select(a => $"{a.Name} {a.Coverage.CoveredFraction:P1} covered")));

        var runs = new List<StudyRun>();
        foreach (var pretrained in new[] { false, true })
        {
            foreach (var anchors in anchorSets)
            {
                for (int seed = 1; seed <= seedCount; seed++)
                {
                    var options = readBudget(); // a new object per run: each sets its own anchors, backbone and seed
                    options.Anchors = anchors.Anchors;
                    options.TuneAnchors = false;
                    options.PretrainedBackbone = pretrained ? PretrainedBackbone.ResNet18 : PretrainedBackbone.None;
                    options.Seed = seed;
                    var runClock = Stopwatch.StartNew();
                    using var model = ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(trainData);
                    var metrics = ml.MulticlassClassification.EvaluateCocoDetection(model.Transform(testData));
                    var run = new StudyRun(anchors.Name, pretrained, seed, metrics.MeanAveragePrecision, metrics.AveragePrecision50,
                        classes.ToDictionary(c => c, c => metrics.PerClassAveragePrecision50[c]), classes.ToDictionary(c => c, c => metrics.PerClassAveragePrecision[c]),
                        runClock.Elapsed.TotalSeconds);
                    runs.Add(run);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{clock.Elapsed:hh\\:mm\\:ss}] {anchors.Name}, {(pretrained ? "pretrained" : "scratch")}, seed {seed}: AP50 {run.Ap50:F3}, mAP {run.Map:F3} ({string.Join(", ", classes.Select(c => $"{c} {run.ClassAp50[c]:F2}"))}) in {run.Seconds:F0} s"));
                }
            }
        }
        var study = new StudyReport(anchorSets, sizes, runs, classes, budget, trainCount, testCount, objectScale, seedCount, arguments, started, clock.Elapsed);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(reportPath));
        if (folder != null) Directory.CreateDirectory(folder);
        string picture = Path.ChangeExtension(reportPath, ".png");
        StudyPlot.Save(picture, study);
        File.WriteAllText(reportPath, study.ToMarkdown(Path.GetFileName(picture)));
        Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] wrote {reportPath} and {picture}");
    }

    /// <summary>
    /// The same scenes at another image size (the generator scales every object with the image, so the boxes scale by
    /// size / training size), anchors tuned again there: how coverage of poles and skis depends on the size at fixed strides.
    /// </summary>
    private static AnchorTuningResult CoverageAt(BoxSet trainingBoxes, int trainingSize, int imageSize, double iou)
    {
        float factor = imageSize / (float)trainingSize;
        var boxes = new BoxSet(trainingBoxes.Boxes.Select(v => v * factor).ToArray(), trainingBoxes.Labels, trainingBoxes.ClassNames);
        return AnchorTuner.Tune(boxes, new AnchorTuningOptions { ImageSize = imageSize, Seed = 1, IouThreshold = iou });
    }
}

/// <summary>One anchor set of the study and its coverage of the training boxes.</summary>
internal sealed record StudyAnchors(string Name, AnchorOptions Anchors, AnchorCoverage Coverage);

/// <summary>One training run's test metrics.</summary>
internal sealed record StudyRun(string Anchors, bool Pretrained, int Seed, double Map, double Ap50,
    IReadOnlyDictionary<string, double> ClassAp50, IReadOnlyDictionary<string, double> ClassAp, double Seconds);
