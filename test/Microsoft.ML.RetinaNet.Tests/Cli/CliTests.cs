using System.Globalization;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Cli;

/// <summary>The command-line tool, run as a user runs it: generate → tune-anchors → train → evaluate → predict, and a clear error line.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string CliPath => Built(Path.Combine("src", "Microsoft.ML.RetinaNet.Cli"), "retinanet.dll");

    /// <summary>The build output of a project under the repository root, in this test run's configuration.</summary>
    internal static string Built(string projectFolder, string assembly) =>
        Path.Combine(Packaging.LocalFeed.Repository, projectFolder, "bin", Packaging.LocalFeed.Configuration, "net10.0", assembly);

    internal static (int ExitCode, string Out, string Error) Run(params string[] arguments) => RunDll(CliPath, arguments);

    internal static (int ExitCode, string Out, string Error) RunDll(string dll, params string[] arguments)
    {
        // generous: a run takes seconds to two minutes here, and shared machines can be several times slower
        var result = ChildProcess.Run("dotnet", new[] { dll }.Concat(arguments), TimeSpan.FromMinutes(20));
        return (result.ExitCode, result.Out, result.Error);
    }

    [Fact]
    public void GenerateTuneTrainEvaluatePredict()
    {
        string data = Path.Combine(_dir, "scenes");
        var generate = Run("generate", "--output", data, "--train", "8", "--validation", "2", "--test", "3", "--image-size", "128");
        Assert.True(generate.ExitCode == 0, generate.Error);
        Assert.Contains("train: 8 images", generate.Out);

        var tune = Run("tune-anchors", "--annotations", Path.Combine(data, "train.json"), "--images", Path.Combine(data, "train"), "--image-size", "128", "--output", Path.Combine(_dir, "anchors"));
        Assert.True(tune.ExitCode == 0, tune.Error);
        Assert.True(File.Exists(Path.Combine(_dir, "anchors", "anchors.png")));
        Assert.Contains("| pole |", tune.Out);

        string run = Path.Combine(_dir, "run");
        var train = Run("train", "--annotations", Path.Combine(data, "train.json"), "--images", Path.Combine(data, "train"),
            "--val-annotations", Path.Combine(data, "validation.json"), "--val-images", Path.Combine(data, "validation"),
            "--depth", "18", "--image-size", "128", "--epochs", "1", "--batch-size", "4", "--optimizer", "AdamW", "--learning-rate", "0.0005", "--output", run);
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.Contains("validation mAP", train.Out);
        Assert.True(File.Exists(Path.Combine(run, "model.zip")) && File.Exists(Path.Combine(run, "model.onnx")));

        var evaluate = Run("evaluate", "--model", Path.Combine(run, "model.zip"), "--annotations", Path.Combine(data, "test.json"), "--images", Path.Combine(data, "test"), "--output", Path.Combine(_dir, "eval"));
        Assert.True(evaluate.ExitCode == 0, evaluate.Error);
        Assert.Contains("| ski_pole |", File.ReadAllText(Path.Combine(_dir, "eval", "metrics.md")));

        var predict = Run("predict", "--model", Path.Combine(run, "model.zip"), "--images", Path.Combine(data, "test"), "--output", Path.Combine(_dir, "drawn"), "--min-score", "0");
        Assert.True(predict.ExitCode == 0, predict.Error);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(_dir, "drawn"), "*.png").Length);
    }

    [Fact]
    public void ScoreWritesCocoResultsThatEvaluateReadsWithoutAModel()
    {
        string data = Path.Combine(_dir, "scenes"), run = Path.Combine(_dir, "run");
        Assert.Equal(0, Run("generate", "--output", data, "--train", "4", "--validation", "1", "--test", "4", "--image-size", "64").ExitCode);
        var train = Run("train", "--annotations", Path.Combine(data, "train.json"), "--images", Path.Combine(data, "train"), "--depth", "18",
            "--image-size", "64", "--epochs", "1", "--score-threshold", "0", "--output", run);
        Assert.True(train.ExitCode == 0, train.Error);
        string results = Path.Combine(_dir, "results.json"), test = Path.Combine(data, "test.json");
        var score = Run("score", "--model", Path.Combine(run, "model.zip"), "--images", Path.Combine(data, "test"), "--output", results,
            "--coco-results", "--annotations", test);
        Assert.True(score.ExitCode == 0, score.Error);
        using (var written = System.Text.Json.JsonDocument.Parse(File.ReadAllText(results)))
        {
            var first = written.RootElement.EnumerateArray().First();
            foreach (string field in new[] { "image_id", "category_id", "bbox", "score" })
                Assert.True(first.TryGetProperty(field, out _), $"a COCO result needs {field}");
        }
        // export --int8: calibrated on the training images, evaluated against the float32 model on the test images
        string int8 = Path.Combine(_dir, "model.int8.onnx");
        var quantised = Run("export", "--model", Path.Combine(run, "model.zip"), "--output", int8, "--int8",
            "--calibration-annotations", Path.Combine(data, "train.json"), "--calibration-images", Path.Combine(data, "train"),
            "--test-annotations", test, "--test-images", Path.Combine(data, "test"));
        Assert.True(quantised.ExitCode == 0, quantised.Error);
        Assert.Matches(@"calibrated on 4 images; float32 AP50 [0-9.]+ mAP [0-9.]+, int8 AP50 [0-9.]+ mAP [0-9.]+ \(AP50 [-+]?[0-9.]+, mAP [-+]?[0-9.]+\)", quantised.Out);
        Assert.Contains("QuantizeLinear", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(int8)));
        var uncalibrated = Run("export", "--model", Path.Combine(run, "model.zip"), "--output", Path.Combine(_dir, "x.onnx"), "--int8");
        Assert.Contains("--int8 needs calibration images", uncalibrated.Error);
        Assert.NotEqual(0, uncalibrated.ExitCode);

        var fromFile = Run("evaluate", "--annotations", test, "--results", results);
        Assert.True(fromFile.ExitCode == 0, fromFile.Error);
        var fromModel = Run("evaluate", "--model", Path.Combine(run, "model.zip"), "--annotations", test, "--images", Path.Combine(data, "test"));
        Assert.True(fromModel.ExitCode == 0, fromModel.Error);
        Assert.Equal(fromModel.Out, fromFile.Out); // the same 12 numbers and per-class table
        var both = Run("evaluate", "--annotations", test, "--results", results, "--model", Path.Combine(run, "model.zip"));
        Assert.Equal("error: give --model (score a dataset) or --results (a COCO results file), not both", both.Error.Trim());
    }

    [Fact]
    public void TheScenesJobWritesTheWholeReport()
    {
        string output = Path.Combine(_dir, "main");
        // the main job's options without its verb, as `retinanet --output x --epochs 5` is typed (the root hands them to `scenes`)
        var result = Run("--output", output, "--train", "6", "--validation", "2", "--test", "2", "--image-size", "128", "--epochs", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Test split (2 images", result.Out);
        Assert.Contains("pretrained ResNet18 V1, 128×128", result.Out); // the main job fine-tunes ML.NET's ImageNet ResNet-18
        // the int8 graph, calibrated on the training images, with what it costs on the test split
        Assert.Matches(@"model\.int8\.onnx on the test split: \d+ convolutions int8, \d+ activations uint8, calibrated on 6 images; float32 AP50 [0-9.]+ mAP [0-9.]+, int8 AP50", result.Out);
        string report = Path.Combine(output, "report");
        Assert.Contains("| class | AP @[.50:.95] | AP50 |", File.ReadAllText(Path.Combine(report, "metrics.md")));
        foreach (var file in new[] { "metrics.md", "metrics.json", "anchors.md", "anchors.png", "curves.png", "history.json", "model.zip", "model.onnx", "model.int8.onnx", "int8.md" })
            Assert.True(File.Exists(Path.Combine(report, file)), $"{file} is missing from the report");
        Assert.Equal(2, Directory.GetFiles(Path.Combine(report, "predictions"), "*.png").Length);
        Assert.Equal(2, System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "history.json"))).RootElement.GetArrayLength());
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(output, "checkpoints"), "checkpoint-*.json"));

        // export: the ONNX inside model.zip, renamed to the public input and output names, is the file the job wrote
        string exported = Path.Combine(_dir, "exported.onnx");
        var export = Run("export", "--model", Path.Combine(report, "model.zip"), "--output", exported);
        Assert.True(export.ExitCode == 0, export.Error);
        Assert.Equal(File.ReadAllBytes(Path.Combine(report, "model.onnx")), File.ReadAllBytes(exported));
    }

    [Fact]
    public void TheAnchorStudyWritesItsReportAndResumes()
    {
        string report = Path.Combine(_dir, "docs", "anchor-study.md");
        string[] Study(int seeds) => new[]
        {
            "anchor-study", "--output", Path.Combine(_dir, "study"), "--report", report, "--seeds", seeds.ToString(CultureInfo.InvariantCulture),
            "--train", "4", "--validation", "0", "--test", "2", "--image-size", "64", "--epochs", "1", "--batch-size", "2",
        };
        var first = Run(Study(1));
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains("no interval", first.Out); // one seed: nothing to decide with
        // a second seed extends the study: the four runs of seed 1 come from the log beside the report (anchor-study.jsonl), only seed 2 trains
        var second = Run(Study(2));
        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Contains("resuming: 4 run(s)", second.Out);
        Assert.Equal(4, second.Out.Split('\n').Count(l => l.Contains(", seed 2: AP50 ", StringComparison.Ordinal)));
        Assert.DoesNotContain(", seed 1: AP50 ", second.Out);
        string text = File.ReadAllText(report);
        Assert.Contains("anchor-study --output", text); // the command that made it
        Assert.Equal(8, File.ReadAllLines(Path.ChangeExtension(report, ".jsonl")).Length); // every run, beside the report
        foreach (var set in new[] { "default", "closest base", "optimised", "optimised + strides" })
        {
            Assert.Contains($"| {set} | 2 |", text); // two runs each in the metrics table
            string runRow = $@"^\| {System.Text.RegularExpressions.Regex.Escape(set)} \| [12] \| \d\.\d{{3}} \| ";
            Assert.Equal(2, text.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, runRow)));
        }
        // paired differences with intervals for the three tuned sets, and the sentence on poles and skis
        const string differenceRow = @"^\| [a-z +]+ \| [+−]?\d\.\d{3} \[[+−]?\d\.\d{3}, [+−]?\d\.\d{3}\] \|";
        Assert.Equal(3, text.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, differenceRow)));
        Assert.Contains("on poles (AP ", text);
        Assert.True(new FileInfo(Path.ChangeExtension(report, ".png")).Length > 1000);
        // runs of another study in the same folder are refused, not mixed in
        var other = Run(Study(2).Select(a => a == "64" ? "96" : a).ToArray());
        Assert.NotEqual(0, other.ExitCode);
        Assert.Contains("holds runs of another study", other.Error + other.Out);
    }

    [Fact]
    public void TheBenchmarkRunnerAnswersHelpAndNamesABadArgument()
    {
        string runner = Built(Path.Combine("test", "Microsoft.ML.RetinaNet.Benchmarks"), "Microsoft.ML.RetinaNet.Benchmarks.dll");
        var help = RunDll(runner, "--help");
        Assert.True(help.ExitCode == 0, help.Error);
        foreach (var word in new[] { "micro", "loaded-latency", "limits", "--quick", "--rounds N", "--threads N", "--output DIR" })
            Assert.Contains(word, help.Out);
        var bad = RunDll(runner, "--rounds");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("error: '--rounds' needs a value; --help lists the options.", bad.Error.Trim());
        Assert.DoesNotContain("   at ", bad.Error); // no stack trace
    }

    [Fact]
    public void TheSaveLoadPredictExampleRuns()
    {
        var result = RunDll(Built(Path.Combine("examples", "SaveLoadPredict"), "SaveLoadPredict.dll"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("saved ", result.Out);
        Assert.Contains("shapes-1-0000.png: truth", result.Out);
        // detections name their class, not the key (the example's seeded run finds 5 after 20 epochs; after 10, since weights
        // no longer come from the global generator, none above 0.05)
        Assert.Matches(@"\n  (" + string.Join("|", Microsoft.ML.RetinaNet.Datasets.SyntheticShapes.Classes) + @") score \d\.\d{3} box \[", result.Out);
        Assert.DoesNotContain("key ", result.Out);
    }

    [Fact]
    public void AnOptionOutOfRangeIsNamedByItsFlag()
    {
        string data = Path.Combine(_dir, "scenes");
        Assert.Equal(0, Run("generate", "--output", data, "--train", "2", "--validation", "1", "--test", "1", "--image-size", "64").ExitCode);
        string[] dataset = { "--annotations", Path.Combine(data, "train.json"), "--images", Path.Combine(data, "train"), "--image-size", "64", "--depth", "18" };
        var result = Run(dataset.Concat(new[] { "--epochs", "0" }).Prepend("train").ToArray());
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: --epochs is 0; it must be at least 1.", result.Error.Trim());
        var flip = Run(dataset.Concat(new[] { "--horizontal-flip", "3" }).Prepend("train").ToArray());
        Assert.Equal("error: --horizontal-flip is 3; it must be between 0 and 1.", flip.Error.Trim());
        var help = Run("train", "--help");
        Assert.Contains("[default: true; --reuse-native-memory false turns it off]", help.Out);
        // the root hands the main job's options to `scenes`, and its --help says so
        var noVerb = Run("--epochs", "0", "--output", Path.Combine(_dir, "never"));
        Assert.Equal(1, noVerb.ExitCode);
        Assert.Equal("error: --epochs is 0; it must be at least 1.", noVerb.Error.Trim());
        var rootHelp = Run("--help");
        Assert.Equal(0, rootHelp.ExitCode);
        Assert.Contains("With no verb it runs the main job", rootHelp.Out);
        Assert.Contains("scenes", rootHelp.Out);
    }

    /// <summary>
    /// A folder with two good images, a truncated one, an empty one and a text file named .png: score, predict and
    /// evaluate name each bad file with the decoder's reason, use the good ones, and exit with 2.
    /// </summary>
    [Fact]
    public void ScoringVerbsSkipAndNameImagesThatCannotBeRead()
    {
        string data = Path.Combine(_dir, "scenes"), run = Path.Combine(_dir, "run");
        Assert.Equal(0, Run("generate", "--output", data, "--train", "4", "--validation", "1", "--test", "3", "--image-size", "64").ExitCode);
        var train = Run("train", "--annotations", Path.Combine(data, "train.json"), "--images", Path.Combine(data, "train"), "--depth", "18", "--image-size", "64", "--epochs", "1", "--output", run);
        Assert.True(train.ExitCode == 0, train.Error);
        string model = Path.Combine(run, "model.zip");

        string test = Path.Combine(data, "test"), folder = Path.Combine(_dir, "mixed");
        Directory.CreateDirectory(folder);
        var good = Directory.GetFiles(test, "*.png").Order(StringComparer.Ordinal).ToArray();
        File.Copy(good[0], Path.Combine(folder, "a-good.png"));
        File.Copy(good[1], Path.Combine(folder, "b-good.png"));
        byte[] png = File.ReadAllBytes(good[2]);
        File.WriteAllBytes(Path.Combine(folder, "c-truncated.png"), png[..(png.Length / 2)]);
        File.WriteAllBytes(Path.Combine(folder, "d-empty.png"), Array.Empty<byte>());
        File.WriteAllText(Path.Combine(folder, "e-text.png"), "not a picture");
        void AssertNamed((int ExitCode, string Out, string Error) result)
        {
            Assert.True(result.ExitCode == 2, $"exit code {result.ExitCode}: {result.Out}{result.Error}");
            Assert.Contains($"skipped {Path.Combine(folder, "c-truncated.png")}: truncated: the decoder ran out of data", result.Error);
            Assert.Contains($"skipped {Path.Combine(folder, "d-empty.png")}: the file is empty (0 bytes)", result.Error);
            Assert.Contains($"skipped {Path.Combine(folder, "e-text.png")}: not an image: no decoder recognises its contents", result.Error);
            Assert.Contains("3 of 5 images could not be used", result.Error);
        }

        string json = Path.Combine(_dir, "detections.json");
        var score = Run("score", "--model", model, "--images", folder, "--output", json);
        AssertNamed(score);
        using (var written = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json)))
            Assert.Equal(new[] { "a-good.png", "b-good.png" }, written.RootElement.EnumerateArray().Select(e => e.GetProperty("file").GetString()));

        string drawn = Path.Combine(_dir, "drawn");
        AssertNamed(Run("predict", "--model", model, "--images", folder, "--output", drawn, "--annotations", Path.Combine(data, "test.json")));
        Assert.Equal(new[] { "a-good.png", "b-good.png" }, Directory.GetFiles(drawn).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // evaluate: one of the annotated test images is cut off; the others are evaluated
        File.WriteAllBytes(good[2], png[..(png.Length / 2)]);
        var evaluate = Run("evaluate", "--model", model, "--annotations", Path.Combine(data, "test.json"), "--images", test);
        Assert.True(evaluate.ExitCode == 2, evaluate.Out + evaluate.Error);
        Assert.Contains($"skipped {good[2]}: truncated", evaluate.Error);
        Assert.Contains("(metrics over the 2 readable images of 3)", evaluate.Out);
        Assert.Contains("| AP @[IoU=0.50:0.95, area=all, maxDets=100] |", evaluate.Out);
    }

    [Fact]
    public void AnErrorIsOneLineWithoutAStackTrace()
    {
        var result = Run("evaluate", "--model", Path.Combine(_dir, "missing.zip"), "--annotations", Path.Combine(_dir, "x.json"), "--images", _dir);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: Model file '{Path.Combine(_dir, "missing.zip")}' does not exist.", result.Error.Trim());
    }
}
