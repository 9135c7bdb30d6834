using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.RetinaNet.Tests.Examples;

/// <summary>
/// examples/Notebook/RetinaNet.ipynb: its C# code cells, in order, compiled as one program against the library (the
/// <c>#r</c> lines replaced by a project reference, <c>using</c> directives moved to the top, the kernel's <c>display</c>
/// and <c>HTML</c> given console stand-ins) and run; it must train, evaluate and draw.
/// </summary>
public sealed class NotebookTests
{
    private static readonly Regex UsingDirective = new(@"^using [A-Za-z][A-Za-z0-9_.]*;\s*$");
    private readonly ITestOutputHelper _output;

    public NotebookTests(ITestOutputHelper output) => _output = output;

    private static string RepositoryRoot => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    /// <summary>The notebook's code cells as one C# program.</summary>
    internal static string ProgramFrom(string notebookPath)
    {
        using var notebook = JsonDocument.Parse(File.ReadAllText(notebookPath));
        var usings = new List<string>();
        var body = new StringBuilder();
        int cells = 0;
        foreach (var cell in notebook.RootElement.GetProperty("cells").EnumerateArray())
        {
            if (cell.GetProperty("cell_type").GetString() != "code") continue;
            cells++;
            body.AppendLine($"// cell {cells}");
            string source = string.Concat(cell.GetProperty("source").EnumerateArray().Select(l => l.GetString()));
            foreach (string line in source.Split('\n'))
            {
                if (line.StartsWith("#r ", StringComparison.Ordinal) || line.StartsWith("#!", StringComparison.Ordinal)) continue;
                if (UsingDirective.IsMatch(line)) usings.Add(line.Trim());
                else body.AppendLine(line);
            }
        }
        return string.Join("\n", usings.Distinct()) + "\n\n" + body + """

            // stand-ins for the .NET Interactive kernel's helpers
            static object? display(object? value)
            {
                Console.WriteLine(value is System.Collections.IEnumerable items and not string ? string.Join("\n", items.Cast<object>()) : value);
                return value;
            }
            static string HTML(string html) => $"<html output, {html.Length} characters>";
            """;
    }

    [Fact]
    public async Task TheNotebooksCodeCellsRun()
    {
        string project = Path.Combine(RepositoryRoot, "artifacts", "notebook-test");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "Program.cs"), ProgramFrom(Path.Combine(RepositoryRoot, "examples", "Notebook", "RetinaNet.ipynb")));
        File.WriteAllText(Path.Combine(project, "NotebookRun.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <IsPackable>false</IsPackable>
                <!-- a notebook kernel does not turn warnings into errors -->
                <TreatWarningsAsErrors>false</TreatWarningsAsErrors>
                <NoWarn>$(NoWarn);CS8321</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{Path.Combine(RepositoryRoot, "src", "Microsoft.ML.RetinaNet", "Microsoft.ML.RetinaNet.csproj")}" />
              </ItemGroup>
            </Project>
            """);

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = project };
        foreach (var a in new[] { "run", "-c", "Release" }) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(15)))
            await process.WaitForExitAsync(limit.Token); // throws if the notebook does not finish in 15 minutes
        string stdout = await stdoutTask, stderr = await stderrTask;
        _output.WriteLine(stdout);
        Assert.True(process.ExitCode == 0, stdout + stderr);
        Assert.Contains("train: 48 images", stdout);
        Assert.Contains("epoch 10/10 done in", stdout);
        Assert.Matches(@"AP50 \d\.\d{3}, mAP \d\.\d{3}", stdout);
        Assert.Contains("| AP @[IoU=0.50, area=all", stdout);
        Assert.Matches(@"5 best detections: \w+ 0\.\d\d", stdout);
        Assert.Contains("<html output, ", stdout);
    }
}
