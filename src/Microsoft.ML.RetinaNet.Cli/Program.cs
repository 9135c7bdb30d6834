using System.CommandLine;
using Microsoft.ML;

namespace Microsoft.ML.RetinaNet.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var mainJob = MainJobCommand.Create();
        var root = new RootCommand("RetinaNet for ML.NET: generate data, tune anchors, train, evaluate, score. With no verb it runs the main job " +
            "(the `scenes` verb) with the options given, e.g. `retinanet --output runs/x --epochs 5`; `retinanet scenes --help` lists them.")
        {
            mainJob, QuickStartCommand.Create(), AnchorStudyCommand.Create(), GenerateCommand.Create(), TuneAnchorsCommand.Create(),
            TrainCommand.Create(), EvaluateCommand.Create(), PredictCommand.Create(), ScoreCommand.Create(), ExportCommand.Create(),
            ImportCommand.Create(),
        };
        // With no verb the main job (the ski-scene job) runs with its defaults.
        root.SetAction(_ => mainJob.Parse(Array.Empty<string>()).Invoke());
        return root.Parse(WithMainJobVerb(args)).Invoke();
    }

    /// <summary>
    /// The main job's options work without its verb: arguments that start with an option other than the root's own
    /// (--help, -h, -?, --version) go to <c>scenes</c>, so <c>retinanet --output x --epochs 5</c> is
    /// <c>retinanet scenes --output x --epochs 5</c>.
    /// </summary>
    internal static string[] WithMainJobVerb(string[] args) =>
        args.Length > 0 && args[0].StartsWith('-') && args[0] is not ("--help" or "-h" or "-?" or "/?" or "/h" or "--version")
            ? args.Prepend("scenes").ToArray()
            : args;

    /// <summary>
    /// Fits the trainer; Ctrl+C stops it between two steps (the checkpoints, if any, keep what was done) and ends the
    /// verb with one line saying so.
    /// </summary>
    public static RetinaNetTransformer FitStoppingOnCtrlC(MLContext ml, RetinaNetTrainer.Options options, IDataView data)
    {
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
            Console.Error.WriteLine("stopping after the current step…");
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return Terminal.WithProgress(options, () => ml.MulticlassClassification.Trainers.RetinaNet(options).Fit(data, stop.Token));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw new OperationCanceledException(options.CheckpointDirectory is null
                ? "stopped by Ctrl+C (no --checkpoints folder was given, so nothing was kept)"
                : $"stopped by Ctrl+C; the last checkpoint is in {options.CheckpointDirectory} (continue with --resume)");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>ML.NET's model file, written to a temporary name and renamed, so a full disk never leaves half a model.zip.</summary>
    public static void SaveModel(MLContext ml, ITransformer model, DataViewSchema schema, string path)
    {
        string temp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                ml.Model.Save(model, schema, stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (IOException e)
        {
            File.Delete(temp);
            throw new IOException($"Could not write '{path}': {e.Message}; any earlier file there is unchanged.", e);
        }
    }

    /// <summary>Runs a verb; an error prints one line (the exception's message), not a stack trace, and exits with 1.</summary>
    public static int Guard(Action action) => Guard(() =>
    {
        action();
        return 0;
    });

    /// <summary>Runs a verb that chooses its own exit code (2: finished, but some inputs were skipped).</summary>
    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (ArgumentException e) when (e.ParamName is { Length: > 0 } property)
        {
            // a trainer option out of range: name the flag, not the property, and leave out .NET's "(Parameter …)" lines
            string message = e.Message;
            int suffix = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
            if (suffix >= 0)
                message = message[..suffix];
            message = message.Replace($"RetinaNet option {property}", property, StringComparison.Ordinal);
            message = System.Text.RegularExpressions.Regex.Replace(message, $@"\b{System.Text.RegularExpressions.Regex.Escape(property)}\b",
                TrainerArguments.FlagFor(property));
            Console.Error.WriteLine($"error: {message}");
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
