using System.CommandLine;

namespace Microsoft.ML.RetinaNet.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var demo = DemoCommand.Create();
        var root = new RootCommand("RetinaNet for ML.NET: train, tune anchors, evaluate, export.") { demo };
        // With no verb the main job runs.
        root.SetAction(parse => demo.Parse(Array.Empty<string>()).Invoke());
        return root.Parse(args).Invoke();
    }
}
