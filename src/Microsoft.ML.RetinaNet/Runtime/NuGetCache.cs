namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>The NuGet global packages folder: <c>NUGET_PACKAGES</c>, else ~/.nuget/packages (where <c>#r "nuget:"</c> and restore put
/// packages).</summary>
internal static class NuGetCache
{
    public static string Root => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
        ? configured
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}
