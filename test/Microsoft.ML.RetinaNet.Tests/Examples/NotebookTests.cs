using System.Text.Json;
using Microsoft.ML.RetinaNet.Tests.Packaging;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Examples;

/// <summary>
/// examples/Notebook/RetinaNet.ipynb, unchanged, in a real .NET Interactive kernel: the dotnet-repl tool runs every cell
/// from the notebook's folder (its first cell makes artifacts/packages, which <see cref="LocalFeed"/> fills, a package
/// source; the packages come from there and the registry) and writes the executed notebook. The test reads the cells'
/// outputs: no error, the data counts, ten epochs, the metrics as a Markdown table, and an image.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class NotebookTests : IDisposable
{
    private const string DotnetReplVersion = "0.3.259";
    private readonly ITestOutputHelper _output;
    private readonly string _dir = Directory.CreateTempSubdirectory("retinanet-notebook-").FullName;

    public NotebookTests(LocalFeed feed, ITestOutputHelper output)
    {
        _output = output;
        Assert.True(File.Exists(feed.Package(LocalFeed.LibraryId)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheNotebookRunsInARealKernel()
    {
        string tools = Path.Combine(_dir, "tools");
        var install = ChildProcess.Run("dotnet", new[] { "tool", "install", "dotnet-repl", "--version", DotnetReplVersion, "--tool-path", tools }, TimeSpan.FromMinutes(10), _dir);
        Assert.True(install.ExitCode == 0, install.Both);

        string folder = Path.Combine(LocalFeed.Repository, "examples", "Notebook");
        string executed = Path.Combine(_dir, "executed.ipynb");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // about 2 minutes here; the guard allows for a machine many times slower, and kills the kernel with its children
        var run = ChildProcess.Run(Path.Combine(tools, "dotnet-repl"),
            new[] { "--run", Path.Combine(folder, "RetinaNet.ipynb"), "--exit-after-run", "--output-format", "ipynb", "--output-path", executed },
            TimeSpan.FromMinutes(30), folder);
        _output.WriteLine($"kernel run: {clock.Elapsed.TotalSeconds:F0} s, exit code {run.ExitCode}");
        Assert.True(File.Exists(executed), "dotnet-repl wrote no executed notebook:\n" + run.Both);

        var cells = CodeCellOutputs(executed);
        for (int i = 0; i < cells.Count; i++)
            _output.WriteLine($"cell {i + 1}: {string.Join(" | ", cells[i].Select(o => o.Length > 200 ? o[..200] + "…" : o))}");
        var errors = cells.SelectMany(c => c).Where(o => o.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.True(run.ExitCode == 0, run.Both);

        string all = string.Join("\n", cells.SelectMany(c => c));
        Assert.Contains("Installed Packages", all);
        Assert.Contains("Microsoft.ML.RetinaNet, ", all);
        Assert.Contains("train: 48 images", all);
        Assert.Contains("epoch 10/10 done in", all);
        Assert.Matches(@"AP50 \d\.\d{3}, mAP \d\.\d{3}", all);
        Assert.Contains("text/markdown: | metric | value |", all);               // the metrics table, rendered as Markdown
        Assert.Matches(@"text/markdown: [\s\S]*\| person \| \d\.\d{3} \| \d\.\d{3} \|", all); // with the per-class rows
        Assert.Matches(@"5 best detections: \w+ 0\.\d\d", all);
        Assert.Contains("text/html: <img src='data:image/png;base64,iVBOR", all); // a PNG shown inline
    }

    /// <summary>Each code cell's outputs as "stream: text", "mime/type: content" or "error: message".</summary>
    private static List<List<string>> CodeCellOutputs(string notebook)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(notebook));
        var cells = new List<List<string>>();
        foreach (var cell in document.RootElement.GetProperty("cells").EnumerateArray())
        {
            if (cell.GetProperty("cell_type").GetString() != "code") continue;
            var outputs = new List<string>();
            foreach (var output in cell.GetProperty("outputs").EnumerateArray())
            {
                switch (output.GetProperty("output_type").GetString())
                {
                    case "stream":
                        outputs.Add("stream: " + Text(output.GetProperty("text")));
                        break;
                    case "error":
                        outputs.Add("error: " + output.GetProperty("ename").GetString() + ": " + output.GetProperty("evalue").GetString());
                        break;
                    default:
                        foreach (var data in output.GetProperty("data").EnumerateObject())
                            outputs.Add($"{data.Name}: {Text(data.Value)}");
                        break;
                }
            }
            cells.Add(outputs);
        }
        return cells;
    }

    private static string Text(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? string.Concat(value.EnumerateArray().Select(l => l.GetString())) : value.GetString() ?? "";
}
