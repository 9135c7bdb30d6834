namespace Microsoft.ML.RetinaNet.Datasets;

/// <summary>Malformed annotation input, with the file and the line, record or annotation id that is wrong.</summary>
public sealed class DatasetFormatException : FormatException
{
    /// <summary>Creates the exception; the message names the file and the place.</summary>
    public DatasetFormatException(string file, string place, string problem, Exception? inner = null)
        : base($"{file}: {place}: {problem}", inner)
    {
        File = file;
        Place = place;
    }

    /// <summary>The file that is wrong.</summary>
    public string File { get; }

    /// <summary>Where in it: a line, an annotation id, an image id.</summary>
    public string Place { get; }
}
