using Microsoft.ML.RetinaNet.Datasets;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// Images a scoring verb cannot use (missing, empty, not an image, truncated, damaged), found before scoring: each is
/// named on stderr with the decoder's reason, the others are scored, and the verb exits with <see cref="ExitCode"/>.
/// </summary>
internal sealed class UnreadableImages
{
    /// <summary>The exit code of a verb that finished but could not use every image.</summary>
    public const int ExitCode = 2;

    private readonly List<(string File, string Problem)> _found = new();

    public int Count => _found.Count;

    /// <summary>The files of <paramref name="files"/> that decode to their last row; the others are recorded and reported.</summary>
    public List<string> KeepReadable(IEnumerable<string> files)
    {
        var readable = new List<string>();
        foreach (string file in files)
        {
            if (ImageFiles.Problem(file) is { } problem)
                Report(file, problem);
            else
                readable.Add(file);
        }
        return readable;
    }

    /// <summary>Records and names on stderr a file that cannot be used.</summary>
    public void Report(string file, string problem)
    {
        _found.Add((file, problem));
        Console.Error.WriteLine($"warning: skipped {file}: {problem}");
    }

    /// <summary>0 when every image was used, else a summary line on stderr and <see cref="ExitCode"/>.</summary>
    public int Finish(int total)
    {
        if (_found.Count == 0)
            return 0;
        Console.Error.WriteLine($"error: {_found.Count} of {total} images could not be used (named above); the other {total - _found.Count} were.");
        return ExitCode;
    }
}
