using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.ML.RetinaNet.Build;

namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>
/// Makes TorchSharp's native library load on every host, before TorchSharp's first native call, and keeps libtorch's
/// warnings about unusable optional kernels (NNPACK) out of the user's output.
/// <para>
/// libLibTorchSharp.so (TorchSharp 0.107.0) carries a version requirement on GLIBCXX_3.4.32 for one symbol it never
/// calls (see eng/LibStdCxxCompat.cs); Debian 12 and Ubuntu 22.04 have GLIBCXX_3.4.30, so the loader refuses it. The
/// package's build targets fix the copies in a consumer's build and publish output, but a notebook or script host
/// (.NET Interactive, dotnet-repl, F# Interactive) loads TorchSharp straight from the NuGet cache, where no build step
/// runs. So, when this assembly is first used on such a host and the library TorchSharp would load still has the
/// requirement, a patched copy is written to a private cache folder (never into the NuGet cache), libtorch's own
/// libraries are loaded from where they are, then the copy, and TorchSharp's assembly is given a resolver that
/// answers "LibTorchSharp" with the copy. Where the host's libstdc++ is new enough, or the library in use is already
/// patched, this does nothing.
/// </para>
/// </summary>
internal static class TorchNativeLibrary
{
    private const string LibraryName = "LibTorchSharp";
    private const string LibraryFile = "libLibTorchSharp.so";
    private const int ErrorLevel = 2; // c10's log levels: 0 INFO, 1 WARNING, 2 ERROR, 3 FATAL

    /// <summary>What the start-up check did, for messages and tests: "not needed", "patched copy …", or why not.</summary>
    public static string Status { get; private set; } = "not run";

    /// <summary>The patched copy that TorchSharp loads, when one was needed.</summary>
    public static string? PatchedCopy { get; private set; }

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Must run before TorchSharp's first native call in hosts without a build step.")]
    internal static void Initialize()
    {
        try
        {
            Status = Prepare();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or DllNotFoundException
                                      or BadImageFormatException or InvalidOperationException or EntryPointNotFoundException)
        {
            // Never fail the assembly's load: TorchSharp then reports its own error, and this says why the fix did not apply.
            Status = $"could not prepare {LibraryFile}: {e.Message}";
        }
        QuietLibTorchWarnings();
    }

    private static string Prepare()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return "not needed (not Linux x64)";
        if (ElfVersionPatcher.HostLibStdCxxHas(ElfVersionPatcher.RequiredVersion, out _))
            return "not needed (the host's libstdc++ has " + ElfVersionPatcher.RequiredVersion + ")";

        Assembly torchSharp = typeof(TorchSharp.torch).Assembly;
        string? original = FindNative(torchSharp, LibraryFile, "torchsharp", TorchSharpVersion(torchSharp));
        if (original is null)
            return $"{LibraryFile} not found beside the application or in the NuGet cache; TorchSharp will report it";
        byte[] bytes = File.ReadAllBytes(original);
        if (!ElfVersionPatcher.Patch(bytes, ElfVersionPatcher.RequiredVersion))
            return $"not needed ({original} is already patched)";

        string copy = WritePatchedCopy(bytes);
        string? torchCpu = FindNative(torchSharp, "libtorch_cpu.so", "libtorch-cpu-linux-x64", LibTorchVersion())
                           ?? throw new DllNotFoundException("libtorch_cpu.so was found neither beside " + original
                               + " nor in the NuGet cache (package libtorch-cpu-linux-x64)");
        // libtorch's libraries find their own dependencies through $ORIGIN; once loaded, the copy's needs are met by soname.
        NativeLibrary.Load(torchCpu);
        string torch = Path.Combine(Path.GetDirectoryName(torchCpu)!, "libtorch.so");
        if (File.Exists(torch))
            NativeLibrary.Load(torch);
        IntPtr handle = NativeLibrary.Load(copy);
        NativeLibrary.SetDllImportResolver(torchSharp, (name, _, _) => name == LibraryName ? handle : IntPtr.Zero);
        PatchedCopy = copy;
        return $"patched copy {copy} of {original}";
    }

    /// <summary>The library TorchSharp would load first: the application's own copies, then the NuGet cache.</summary>
    private static string? FindNative(Assembly torchSharp, string file, string package, string? version)
    {
        var folders = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirs)
            folders.AddRange(searchDirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        foreach (string root in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(torchSharp.Location) ?? "" })
        {
            if (root.Length == 0) continue;
            folders.Add(root);
            folders.Add(Path.Combine(root, "runtimes", "linux-x64", "native"));
        }
        if (version is not null)
            folders.Add(Path.Combine(NuGetCache.Root, package, version, "runtimes", "linux-x64", "native"));
        return folders.Select(f => Path.Combine(f, file)).FirstOrDefault(File.Exists);
    }

    private static string? TorchSharpVersion(Assembly torchSharp)
    {
        string? informational = torchSharp.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return informational?.Split('+')[0] ?? torchSharp.GetName().Version?.ToString(3);
    }

    private static string? LibTorchVersion() =>
        typeof(TorchNativeLibrary).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "LibTorchVersion")?.Value;

    /// <summary>Writes the patched bytes once per distinct original, atomically, under the user's cache folder.</summary>
    private static string WritePatchedCopy(byte[] patched)
    {
        string hash = Convert.ToHexString(SHA256.HashData(patched))[..16].ToLowerInvariant();
        string cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        string folder = Path.Combine(cacheRoot, "Microsoft.ML.RetinaNet", "native", hash);
        string target = Path.Combine(folder, LibraryFile);
        if (File.Exists(target) && new FileInfo(target).Length == patched.Length)
            return target;
        Directory.CreateDirectory(folder);
        string temp = Path.Combine(folder, $"{LibraryFile}.{Environment.ProcessId}.tmp");
        File.WriteAllBytes(temp, patched);
        File.Move(temp, target, overwrite: true);
        return target;
    }

    /// <summary>
    /// libtorch logs "Could not initialize NNPACK! Reason: Unsupported hardware." at WARNING level on every convolution
    /// that checks NNPACK on CPUs it does not support; c10 reads <c>TORCH_CPP_LOG_LEVEL</c> only when Python initialises
    /// it. Unless the user set that variable (then it is honoured), this raises c10's level to ERROR. Errors still show.
    /// </summary>
    private static void QuietLibTorchWarnings()
    {
        try
        {
            if (LoadC10() is not IntPtr c10)
                return;
            if (Environment.GetEnvironmentVariable("TORCH_CPP_LOG_LEVEL") is { Length: > 0 })
            {
                if (NativeLibrary.TryGetExport(c10, "_ZN3c1011initLoggingEv", out IntPtr init))
                    InitLogging(init);
            }
            else if (NativeLibrary.TryGetExport(c10, "FLAGS_caffe2_log_level", out IntPtr level))
            {
                if (Marshal.ReadInt32(level) < ErrorLevel)
                    Marshal.WriteInt32(level, ErrorLevel);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or IOException)
        {
            // Only a matter of log lines.
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void VoidFunction();

    private static void InitLogging(IntPtr function) => Marshal.GetDelegateForFunctionPointer<VoidFunction>(function)();

    /// <summary>c10's current log level (0 INFO … 3 FATAL), or null when libc10 is not loaded; for tests.</summary>
    internal static int? LibTorchLogLevel() =>
        LoadC10() is IntPtr c10 && NativeLibrary.TryGetExport(c10, "FLAGS_caffe2_log_level", out IntPtr level) ? Marshal.ReadInt32(level) : null;

    /// <summary>libc10 as TorchSharp finds it (the application's copy, else the NuGet cache, else default probing), or null.</summary>
    private static IntPtr? LoadC10()
    {
        Assembly torchSharp = typeof(TorchSharp.torch).Assembly;
        string? path = FindNative(torchSharp, "libc10.so", "libtorch-cpu-linux-x64", LibTorchVersion());
        if (path is not null && NativeLibrary.TryLoad(path, out IntPtr c10))
            return c10;
        return NativeLibrary.TryLoad("c10", torchSharp, null, out c10) ? c10 : null;
    }
}
