using System.Text.Json;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// The anchor study's runs as JSON lines, one appended (and flushed) as each run ends, so that a study stopped part-way
/// resumes with the runs it has. Each line carries the study's arguments: runs of another study in the same folder are
/// refused rather than mixed in. A last line cut short by a kill is left out.
/// </summary>
internal sealed class StudyLog
{
    private sealed record Line(string Arguments, StudyRun Run);

    private readonly string _arguments;

    public StudyLog(string path, string arguments)
    {
        Path = path;
        _arguments = arguments;
    }

    public string Path { get; }

    public List<StudyRun> Read()
    {
        var runs = new List<StudyRun>();
        if (!File.Exists(Path))
            return runs;
        var lines = File.ReadAllLines(Path).Where(l => l.Length > 0).ToArray();
        for (int i = 0; i < lines.Length; i++)
        {
            Line? line;
            try
            {
                line = JsonSerializer.Deserialize<Line>(lines[i]);
            }
            catch (JsonException) when (i == lines.Length - 1)
            {
                Console.Error.WriteLine($"{Path}: the last line is incomplete (a run stopped while writing it); that run is trained again.");
                break;
            }
            if (line?.Run is null)
                throw new InvalidDataException($"{Path} line {i + 1} is not a study run; delete the file or choose another --output.");
            if (line.Arguments != _arguments)
                throw new InvalidOperationException($"{Path} holds runs of another study (arguments '{line.Arguments}', now '{_arguments}'); " +
                    "run with the same arguments to resume it, or choose another --output.");
            runs.Add(line.Run);
        }
        return runs;
    }

    public void Append(StudyRun run)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write);
        using var writer = new StreamWriter(stream);
        writer.WriteLine(JsonSerializer.Serialize(new Line(_arguments, run)));
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }
}
