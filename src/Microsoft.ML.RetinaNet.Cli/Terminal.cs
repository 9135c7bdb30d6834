using System.Globalization;
using Spectre.Console;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>
/// Console output of the training verbs: on a terminal a progress bar (epoch, step, loss, images/s, elapsed time, ETA)
/// with the log lines printed above it; redirected to a file or a pipe, plain lines only.
/// </summary>
internal static class Terminal
{
    private static readonly System.Text.RegularExpressions.Regex StepLine = new(@"epoch \d+/\d+ step \d+/\d+:");
    private static bool _barShown;

    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public static void WriteLine(string text)
    {
        if (Interactive)
            AnsiConsole.WriteLine(text);
        else
            Console.WriteLine(text);
    }

    /// <summary>A trainer log line; per-step lines are left to the progress bar while it is shown.</summary>
    public static void Log(string text)
    {
        if (_barShown && StepLine.IsMatch(text))
            return;
        WriteLine(text);
    }

    /// <summary>Runs <paramref name="fit"/> under a progress bar fed by <see cref="RetinaNetTrainer.Options.Progress"/> when on a terminal.</summary>
    public static T WithProgress<T>(RetinaNetTrainer.Options options, Func<T> fit)
    {
        if (!Interactive)
            return fit();
        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("training", maxValue: 1);
                var previous = options.Progress;
                options.Progress = p =>
                {
                    previous?.Invoke(p);
                    task.MaxValue = p.TotalSteps;
                    task.Value = p.GlobalStep;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F3} {p.ImagesPerSecond:F2} img/s");
                };
                _barShown = true;
                try
                {
                    return fit();
                }
                finally
                {
                    _barShown = false;
                    options.Progress = previous;
                }
            });
    }
}
