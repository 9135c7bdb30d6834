using System.CommandLine;

namespace Microsoft.ML.RetinaNet.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var quickStart = QuickStartCommand.Create();
        var root = new RootCommand("RetinaNet for ML.NET: generate data, tune anchors, train, evaluate, score.")
        {
            quickStart, MainJobCommand.Create(), GenerateCommand.Create(), TuneAnchorsCommand.Create(), TrainCommand.Create(), EvaluateCommand.Create(), PredictCommand.Create(), ScoreCommand.Create(),
        };
        // With no verb the main job runs with its defaults.
        root.SetAction(_ => quickStart.Parse(Array.Empty<string>()).Invoke());
        return root.Parse(args).Invoke();
    }

    /// <summary>Runs a verb; an error prints one line (the exception's message), not a stack trace, and exits with 1.</summary>
    public static int Guard(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
