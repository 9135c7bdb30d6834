using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.RetinaNet.AnchorTuning;
using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// The anchor study: the main job's recipe (data, epochs, schedule, pretrained ResNet-18, validation each epoch) trained
/// with each of {torchvision's default anchors, the closest-base method's, the optimiser's at the feature strides, the
/// optimiser's with tuned strides} for every seed — paired: one seed is one initialisation, one data order and one
/// augmentation stream for every anchor set — and evaluated on one test split. Every finished run is appended to a JSON-lines
/// log beside the report (docs/anchor-study.jsonl), so a study stopped part-way resumes where it stopped, on any machine. The report gives
/// per-class AP
/// and AP50 as mean ± sd and each tuned set's paired difference to the default with its 95 % interval.
/// </summary>
internal static class AnchorStudyCommand
{
    public static System.CommandLine.Command Create()
    {
        var output = new Option<string>("--output") { Description = "run folder (generated data)", DefaultValueFactory = _ => Path.Combine("runs",
            "anchor-study") };
        var report = new Option<string>("--report")
        {
            Description = "the Markdown report; the picture is written beside it (.png)", DefaultValueFactory = _ => Path.Combine("docs",
                "anchor-study.md"),
        };
        var seeds = new Option<int>("--seeds") { Description = "seeds, each a paired run of every anchor set (1, 2, …)", DefaultValueFactory = _
            => 3 };
        var train = new Option<int>("--train") { Description = "training images", DefaultValueFactory = _ => 300 };
        var validation = new Option<int>("--validation") { Description = "validation images", DefaultValueFactory = _ => 30 };
        var test = new Option<int>("--test") { Description = "test images", DefaultValueFactory = _ => 200 };
        var objectScale = new Option<double>("--object-scale")
        {
            Description = "object size relative to the scene (1: the main job's)", DefaultValueFactory = _ => 1.0,
        };
        var trainer = new TrainerArguments(MainJobCommand.Defaults);
        var command = new System.CommandLine.Command("anchor-study",
            "Train the main job's recipe with default, closest-base, optimised and optimised-with-strides anchors over paired seeds; " +
            "write docs/anchor-study.md.")
        {
            output, report, seeds, train, validation, test, objectScale,
        };
        foreach (var o in trainer.All) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var tokens = parse.Tokens.Select(t => t.Value).SkipWhile(t => t == "anchor-study").ToList();
            return Program.Guard(() => Run(new StudySettings(parse.GetValue(output)!, parse.GetValue(report)!, parse.GetValue(seeds),
                parse.GetValue(train),
                parse.GetValue(validation), parse.GetValue(test), parse.GetValue(objectScale), string.Join(' ', tokens), StudyIdentity(tokens)), ()
                    => trainer.Read(parse)));
        });
        return command;
    }

    /// <summary>The arguments that make runs comparable: all but --seeds (more seeds extend a study) and --report.</summary>
    private static string StudyIdentity(IReadOnlyList<string> tokens)
    {
        var kept = new List<string>();
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] is "--seeds" or "--report") { i++; continue; }
            kept.Add(tokens[i]);
        }
        return string.Join(' ', kept);
    }

    private static void Run(StudySettings settings, Func<RetinaNetTrainer.Options> readRecipe)
    {
        var recipe = readRecipe();
        if (settings.Seeds < 1) throw new ArgumentOutOfRangeException("--seeds", settings.Seeds, "--seeds must be at least 1.");
        var clock = Stopwatch.StartNew();
        var started = DateTime.UtcNow;
        int size = recipe.ImageSize;
        var splits = SkiSceneDataset.Generate(Path.Combine(settings.Output, "data"), settings.Train, settings.Validation, settings.Test, size,
            seed: 1,
            settings.ObjectScale);
        var ml = new MLContext(1);
        var classes = SkiSceneBoxes.Classes;
        IDataView Data(int split) => DatasetArguments.Prepare(ml, splits[split].Records, classes, splits[split].ImageFolder);
        var trainData = Data(0);
        var validationData = settings.Validation > 0 ? Data(1) : null;
        var testData = Data(2);
        AnchorTuningResult Tune(bool strides) => AnchorTuner.Tune(trainData,
            new AnchorTuningOptions { ImageSize = size, Seed = 1, IouThreshold = recipe.ForegroundIouThreshold, TuneStrides = strides });
        var atFeatureStrides = Tune(strides: false);
        var withStrides = Tune(strides: true);
        var anchorSets = new[]
        {
            new StudyAnchors("default", new AnchorOptions(), atFeatureStrides.BaseCoverage),
            new StudyAnchors("closest base", atFeatureStrides.MethodAnchors, atFeatureStrides.MethodCoverage),
            new StudyAnchors("optimised", atFeatureStrides.Anchors, atFeatureStrides.Coverage),
            new StudyAnchors("optimised + strides", withStrides.Anchors, withStrides.Coverage),
        };
        Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {settings.Train} training, {settings.Validation} validation and " +
            $"{settings.Test} test scenes at {size}²; anchor sets: " +
            string.Join("; ", anchorSets.Select(a => $"{a.Name} {a.Coverage.CoveredFraction:P1} covered")));

        // beside the report (docs/anchor-study.jsonl): committed with it, so a study resumes on another machine too
        var log = new StudyLog(Path.ChangeExtension(settings.Report, ".jsonl"), settings.Identity);
        var runs = log.Read();
        if (runs.Count > 0)
            Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] resuming: {runs.Count} run(s) already in {log.Path}");
        for (int seed = 1; seed <= settings.Seeds; seed++)
        {
            foreach (var anchors in anchorSets)
            {
                if (runs.Any(r => r.Anchors == anchors.Name && r.Seed == seed))
                    continue;
                var options = readRecipe(); // a new object per run: each sets its own anchors and seed
                options.Anchors = anchors.Anchors.Clone();
                options.TuneAnchors = false;
                options.Seed = seed;
                options.ValidationSet = validationData;
                var runClock = Stopwatch.StartNew();
                using var model = ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(trainData);
                var metrics = ml.MulticlassClassification.EvaluateCocoDetection(model.Transform(testData));
                var run = new StudyRun(anchors.Name, seed, metrics.MeanAveragePrecision, metrics.AveragePrecision50,
                    classes.ToDictionary(c => c, c => metrics.PerClassAveragePrecision50[c]), classes.ToDictionary(c => c, c
                        => metrics.PerClassAveragePrecision[c]),
                    runClock.Elapsed.TotalSeconds);
                runs.Add(run);
                log.Append(run);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{clock.Elapsed:hh\\:mm\\:ss}] {anchors.Name}, seed {seed}: AP50 {run.Ap50:F3}, mAP {run.Map:F3} " +
                    $"({string.Join(", ", classes.Select(c => $"{c} {run.ClassAp[c]:F3}"))}) in {run.Seconds:F0} s"));
            }
        }
        var study = new StudyReport(anchorSets, runs, classes, recipe, settings, started, clock.Elapsed);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(settings.Report));
        if (folder != null) Directory.CreateDirectory(folder);
        string picture = Path.ChangeExtension(settings.Report, ".png");
        StudyPlot.Save(picture, study);
        File.WriteAllText(settings.Report, study.ToMarkdown(Path.GetFileName(picture)));
        Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] wrote {settings.Report} and {picture}");
        Console.WriteLine(study.Verdict());
    }
}

/// <summary>What the study was asked: folders, seeds, split sizes, and the arguments as typed (for the report and the log).</summary>
internal sealed record StudySettings(string Output, string Report, int Seeds, int Train, int Validation, int Test, double ObjectScale,
    string Arguments,
    string Identity);

/// <summary>One anchor set of the study and its coverage of the training boxes.</summary>
internal sealed record StudyAnchors(string Name, AnchorOptions Anchors, AnchorCoverage Coverage);

/// <summary>One training run's test metrics.</summary>
internal sealed record StudyRun(string Anchors, int Seed, double Map, double Ap50,
    IReadOnlyDictionary<string, double> ClassAp50, IReadOnlyDictionary<string, double> ClassAp, double Seconds);
