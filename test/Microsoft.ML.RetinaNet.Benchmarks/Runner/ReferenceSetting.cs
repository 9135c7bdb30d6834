namespace Microsoft.ML.RetinaNet.Benchmarks.Runner;

/// <summary>
/// How the torchvision process is started: as it ships (glibc's malloc with its defaults), with the allocator policy
/// our trainer sets (the same mallopt values as GLIBC_TUNABLES), or with jemalloc / tcmalloc preloaded when Debian's
/// libjemalloc2 / libtcmalloc-minimal4 are installed. A user who cares about speed sets one of these in one line.
/// </summary>
internal sealed record ReferenceSetting(string Name, IReadOnlyDictionary<string, string> Environment)
{
    public const string AsShippedName = "as shipped";

    /// <summary>The values of <c>NativeMemoryReuse</c>: no mmapped blocks, 1 GiB trim threshold, 64 MiB top pad.</summary>
    public const string GlibcTunables = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864";

    public static ReferenceSetting AsShipped { get; } = new(AsShippedName, new Dictionary<string, string>());

    /// <summary>Every setting this machine can run, as shipped first.</summary>
    public static IReadOnlyList<ReferenceSetting> Available()
    {
        var settings = new List<ReferenceSetting>
        {
            AsShipped,
            new("GLIBC_TUNABLES", new Dictionary<string, string> { ["GLIBC_TUNABLES"] = GlibcTunables }),
        };
        foreach (var (name, library) in new[] { ("jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"), ("tcmalloc", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4") })
            if (File.Exists(library))
                settings.Add(new ReferenceSetting(name, new Dictionary<string, string> { ["LD_PRELOAD"] = library }));
        return settings;
    }

    public string Describe() => Environment.Count == 0 ? "glibc malloc, defaults" : string.Join(" ", Environment.Select(e => $"{e.Key}={e.Value}"));
}
