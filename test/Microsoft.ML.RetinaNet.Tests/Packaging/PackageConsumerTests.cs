using System.Text.Json;
using Microsoft.ML.RetinaNet.Build;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Packaging;

/// <summary>
/// As a user who never cloned the repository: a new console project in a temporary folder whose only link to the
/// repository is the folder feed (<see cref="LocalFeed"/>); it adds the package, runs the README's pipeline code (shrunk
/// to a tiny run) to train, evaluate and save, and a second process loads model.zip and scores. Then the tool package is
/// installed from the same feed and runs generate → train → evaluate.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class PackageConsumerTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(25); // a step takes up to 2 minutes here
    private readonly LocalFeed _feed;
    private readonly ITestOutputHelper _output;
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-consumer-").FullName;

    public PackageConsumerTests(LocalFeed feed, ITestOutputHelper output)
    {
        _feed = feed;
        _output = output;
        Assert.False(_dir.StartsWith(LocalFeed.Repository, StringComparison.Ordinal), "the consumer must live outside the repository");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The README's "In an ML.NET pipeline" code with a tiny budget: Depth 18, 128², one epoch, no .pth.
    private const string ConsumerProgram = """
        using Microsoft.ML;
        using Microsoft.ML.Data;
        using Microsoft.ML.RetinaNet;
        using Microsoft.ML.RetinaNet.Datasets;
        using Microsoft.ML.RetinaNet.Evaluation;

        string folder = args[1];
        var mlContext = new MLContext(seed: 1);
        if (args[0] == "train")
        {
            var splits = SkiSceneDataset.Generate(folder, trainImages: 8, validationImages: 2, testImages: 3, imageSize: 128, seed: 1);
            IDataView data = mlContext.Data.LoadFromEnumerable(splits[0].Records);
            IDataView testData = mlContext.Data.LoadFromEnumerable(splits[2].Records);
            string imageFolder = splits[0].ImageFolder;
            var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
                .Append(mlContext.Transforms.LoadImages("Image", imageFolder, "ImagePath"))
                .Append(mlContext.MulticlassClassification.Trainers.RetinaNet(new RetinaNetTrainer.Options
                {
                    Depth = 18, ImageSize = 128, BatchSize = 2, Epochs = 1,
                }));
            var model = pipeline.Fit(data);
            IDataView scored = model.Transform(mlContext.Data.LoadFromEnumerable(splits[0].Records.Take(3)));
            DetectionMetrics metrics = mlContext.MulticlassClassification.EvaluateCocoDetection(scored);
            Console.WriteLine(metrics.ToMarkdown());
            mlContext.Model.Save(model, data.Schema, Path.Combine(folder, "model.zip"));
            Console.WriteLine("saved model.zip");
        }
        else
        {
            ITransformer loaded = mlContext.Model.LoadRetinaNet(Path.Combine(folder, "model.zip"), out var inputSchema);
            var records = SkiSceneDataset.Generate(Path.Combine(folder, "more"), trainImages: 2, validationImages: 0, testImages: 0, imageSize: 128, seed: 7)[0];
            // the saved pipeline loads images relative to the training folder: score copies placed there
            foreach (var record in records.Records)
                File.Copy(Path.Combine(records.ImageFolder, record.ImagePath), Path.Combine(folder, "train", "extra-" + record.ImagePath), overwrite: true);
            var rows = records.Records.Select(r => new DetectionRecord { ImagePath = "extra-" + r.ImagePath, Label = r.Label, BoundingBoxes = r.BoundingBoxes });
            IDataView scored = loaded.Transform(mlContext.Data.LoadFromEnumerable(rows));
            var scores = scored.GetColumn<float[]>("Score").ToList();
            Console.WriteLine($"scored {scores.Count} images with the loaded model: {string.Join(", ", scores.Select(s => s.Length))} detections");
        }
        """;

    [Fact]
    public void ANewProjectUsesThePackageAndTheToolRunsFromTheFeed()
    {
        _output.WriteLine($"packed in {_feed.PackSeconds:F0} s: {LocalFeed.LibraryId} {new FileInfo(_feed.Package(LocalFeed.LibraryId)).Length / 1e6:F2} MB, "
                          + $"{LocalFeed.ToolId}.linux-x64 {new FileInfo(_feed.Package(LocalFeed.ToolId + ".linux-x64")).Length / 1e6:F0} MB");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // 1. a console project that knows the repository only through the feed
        string project = Path.Combine(_dir, "Consumer");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "NuGet.config"), _feed.NuGetConfig());
        Dotnet(project, "new", "console", "--framework", "net10.0", "--name", "Consumer", "--output", project);
        Dotnet(project, "add", "package", LocalFeed.LibraryId, "--version", _feed.Version);
        File.WriteAllText(Path.Combine(project, "Program.cs"), ConsumerProgram);
        Dotnet(project, "build", "-c", "Release");
        AssertOnlyPackagesReachTheConsumer(project);

        string app = Path.Combine(project, "bin", "Release", "net10.0", "Consumer.dll");
        string data = Path.Combine(_dir, "data");
        var train = ChildProcess.Run("dotnet", new[] { app, "train", data }, Guard, project);
        _output.WriteLine(train.Both);
        Assert.True(train.ExitCode == 0, train.Both);
        Assert.Contains("| AP @[IoU=0.50, area=all, maxDets=100] |", train.Out);
        Assert.Contains("saved model.zip", train.Out);

        var score = ChildProcess.Run("dotnet", new[] { app, "score", data }, Guard, project);
        _output.WriteLine(score.Both);
        Assert.True(score.ExitCode == 0, score.Both);
        Assert.Matches(@"scored 2 images with the loaded model: \d+, \d+ detections", score.Out);

        // The run-time fix (for hosts without a build step): with the untouched library from the NuGet cache in the
        // output folder, the package's first use still loads TorchSharp.
        string native = Directory.GetFiles(Path.Combine(project, "bin", "Release", "net10.0"), "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        File.Copy(Path.Combine(LocalFeed.NuGetCache, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), native, overwrite: true);
        var unpatched = ChildProcess.Run("dotnet", new[] { app, "score", data }, Guard, project);
        Assert.True(unpatched.ExitCode == 0, "with TorchSharp's own libLibTorchSharp.so in the output:\n" + unpatched.Both);
        _output.WriteLine($"consumer project: {clock.Elapsed.TotalSeconds:F0} s");

        // 2. the tool, installed from the feed into a folder of its own
        clock.Restart();
        string tools = Path.Combine(_dir, "tools");
        Dotnet(_dir, "tool", "install", LocalFeed.ToolId, "--version", _feed.Version, "--add-source", _feed.Folder, "--tool-path", tools);
        string retinanet = Path.Combine(tools, "retinanet");
        string scenes = Path.Combine(_dir, "scenes"), run = Path.Combine(_dir, "run");
        Tool(retinanet, "generate", "--output", scenes, "--train", "6", "--validation", "2", "--test", "3", "--image-size", "128");
        Tool(retinanet, "train", "--annotations", Path.Combine(scenes, "train.json"), "--images", Path.Combine(scenes, "train"),
            "--depth", "18", "--image-size", "128", "--epochs", "1", "--output", run);
        var evaluate = Tool(retinanet, "evaluate", "--model", Path.Combine(run, "model.zip"), "--annotations", Path.Combine(scenes, "test.json"),
            "--images", Path.Combine(scenes, "test"));
        Assert.Contains("| AP @[IoU=0.50:0.95, area=all, maxDets=100] |", evaluate.Out);
        string installed = Directory.GetFiles(Path.Combine(tools, ".store"), "retinanet.dll", SearchOption.AllDirectories).Single();
        Assert.Contains(Path.Combine("retinanet.linux-x64", _feed.Version), installed); // the RID-specific package was chosen
        _output.WriteLine($"tool: {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>
    /// The consumer's restore resolved Microsoft.ML.RetinaNet as a package from the feed, with no project reference; its
    /// output holds the package's assembly, and the build targets that came with the package patched the native
    /// library where this host needs it.
    /// </summary>
    private void AssertOnlyPackagesReachTheConsumer(string project)
    {
        using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(project, "obj", "project.assets.json")));
        var libraries = assets.RootElement.GetProperty("libraries");
        foreach (var library in libraries.EnumerateObject())
            Assert.Equal("package", library.Value.GetProperty("type").GetString());
        Assert.True(libraries.TryGetProperty($"{LocalFeed.LibraryId}/{_feed.Version}", out _), "the package was not restored");
        string csproj = File.ReadAllText(Path.Combine(project, "Consumer.csproj"));
        Assert.DoesNotContain("ProjectReference", csproj);
        Assert.DoesNotContain(LocalFeed.Repository, csproj);

        string output = Path.Combine(project, "bin", "Release", "net10.0");
        string fromPackage = Path.Combine(LocalFeed.NuGetCache, LocalFeed.LibraryId.ToLowerInvariant(), _feed.Version, "lib", "net8.0", "Microsoft.ML.RetinaNet.dll");
        Assert.Equal(File.ReadAllBytes(fromPackage), File.ReadAllBytes(Path.Combine(output, "Microsoft.ML.RetinaNet.dll")));
        string native = Directory.GetFiles(output, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        bool hostNeedsIt = !ElfVersionPatcher.HostLibStdCxxHas(ElfVersionPatcher.RequiredVersion, out _);
        bool stillHasTheRequirement = ElfVersionPatcher.Patch(File.ReadAllBytes(native), ElfVersionPatcher.RequiredVersion);
        Assert.Equal(hostNeedsIt, !stillHasTheRequirement); // patched exactly where the host needs it
    }

    private void Dotnet(string workingDirectory, params string[] arguments)
    {
        var result = ChildProcess.Run("dotnet", arguments, Guard, workingDirectory);
        Assert.True(result.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} failed:\n{result.Both}");
    }

    private ChildProcess.Result Tool(string retinanet, params string[] arguments)
    {
        var result = ChildProcess.Run(retinanet, arguments, Guard, _dir);
        _output.WriteLine(result.Out);
        Assert.True(result.ExitCode == 0, $"retinanet {string.Join(' ', arguments)} failed:\n{result.Both}");
        return result;
    }
}
