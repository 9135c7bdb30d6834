using System.CommandLine;

namespace Microsoft.ML.RetinaNet.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var quickStart = QuickStartCommand.Create();
        var root = new RootCommand("RetinaNet for ML.NET: train, evaluate, score saved models.") { quickStart, GenerateCommand.Create(), ScoreCommand.Create() };
        // With no verb the main job runs with its defaults.
        root.SetAction(_ => quickStart.Parse(Array.Empty<string>()).Invoke());
        return root.Parse(args).Invoke();
    }
}
