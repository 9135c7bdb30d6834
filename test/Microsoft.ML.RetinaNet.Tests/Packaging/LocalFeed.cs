using System.Xml.Linq;
using Xunit;

namespace Microsoft.ML.RetinaNet.Tests.Packaging;

/// <summary>
/// The library and the tool packed into a folder feed, <c>artifacts/packages</c> (the folder the notebook names), once
/// per test run. The version is the repository's (eng/Versions.props); NuGet would take a cached copy of that version
/// from an earlier pack, so the packages' folders in the NuGet cache are removed first.
/// </summary>
public sealed class LocalFeed
{
    public const string LibraryId = "Microsoft.ML.RetinaNet";
    public const string ToolId = "retinanet";

    public LocalFeed()
    {
        Folder = Path.Combine(Repository, "artifacts", "packages");
        Version = XDocument.Load(Path.Combine(Repository, "eng", "Versions.props")).Descendants("RetinaNetVersion").Single().Value;
        if (Directory.Exists(Folder))
            Directory.Delete(Folder, recursive: true);
        Directory.CreateDirectory(Folder);
        foreach (string id in new[] { LibraryId, ToolId, ToolId + ".linux-x64" })
        {
            string cached = Path.Combine(NuGetCache, id.ToLowerInvariant(), Version);
            if (Directory.Exists(cached))
                Directory.Delete(cached, recursive: true);
        }

        // The library as the tests were built (no rebuild under their feet); the tool as its RID-specific package
        // (an inner publish for linux-x64 into its own output folder).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Pack(Path.Combine("src", "Microsoft.ML.RetinaNet", "Microsoft.ML.RetinaNet.csproj"), "--no-build");
        Pack(Path.Combine("src", "Microsoft.ML.RetinaNet.Cli", "Microsoft.ML.RetinaNet.Cli.csproj"));
        PackSeconds = clock.Elapsed.TotalSeconds;
    }

    public static string Repository => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    public static string NuGetCache => Microsoft.ML.RetinaNet.Runtime.NuGetCache.Root;

    public string Folder { get; }
    public string Version { get; }
    public double PackSeconds { get; }

    public string Package(string id) => Path.Combine(Folder, $"{id}.{Version}.nupkg");

    /// <summary>A NuGet.config for a project outside the repository: this feed, then the registry the repository restores from.</summary>
    public string NuGetConfig() => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="local-feed" value="{Folder}" />
            <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
          </packageSources>
        </configuration>
        """;

    private void Pack(string project, params string[] extra)
    {
        var result = ChildProcess.Run("dotnet", new[] { "pack", Path.Combine(Repository, project), "-c", Configuration, "-o", Folder, "--nologo" }.Concat(extra),
            TimeSpan.FromMinutes(20), Repository);
        Assert.True(result.ExitCode == 0, $"dotnet pack {project} failed:\n{result.Both}");
    }
}

/// <summary>The tests that use the packed feed share one pack and never run at the same time.</summary>
[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<LocalFeed>
{
    public const string Name = "packages";
}
