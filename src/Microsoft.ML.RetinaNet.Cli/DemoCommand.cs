using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Cli;

/// <summary>The main job for now: trains RetinaNet for a few steps on generated images and prints the losses.</summary>
internal static class DemoCommand
{
    public static System.CommandLine.Command Create()
    {
        var depth = new Option<int>("--depth") { Description = "ResNet depth: 18, 34, 50, 101 or 152", DefaultValueFactory = _ => 18 };
        var imageSize = new Option<int>("--image-size") { Description = "square input size in pixels", DefaultValueFactory = _ => 256 };
        var batchSize = new Option<int>("--batch-size") { Description = "images per step", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "optimisation steps", DefaultValueFactory = _ => 20 };
        var learningRate = new Option<double>("--learning-rate") { Description = "SGD learning rate", DefaultValueFactory = _ => 0.01 };
        var threads = new Option<int>("--threads") { Description = "CPU threads for TorchSharp (0: all cores)", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var command = new System.CommandLine.Command("demo", "Train RetinaNet for a few steps on generated rectangles and print the losses.")
        {
            depth, imageSize, batchSize, steps, learningRate, threads, seed,
        };
        command.SetAction(parse => Run(parse.GetValue(depth), parse.GetValue(imageSize), parse.GetValue(batchSize),
            parse.GetValue(steps), parse.GetValue(learningRate), parse.GetValue(threads), parse.GetValue(seed)));
        return command;
    }

    private static int Run(int depth, int imageSize, int batchSize, int steps, double learningRate, int threads, int seed)
    {
        if (threads > 0)
            set_num_threads(threads);
        manual_seed(seed);
        const int classes = 3;
        using var network = new RetinaNetNetwork(new NetworkConfig(classes, depth));
        using var anchors = new AnchorGenerator(new AnchorOptions());
        var loss = new DetectionLoss(new LossSettings());
        var parameters = network.parameters().Where(p => p.requires_grad);
        var optimizer = optim.SGD(parameters, learningRate, momentum: 0.9, weight_decay: 1e-4);
        var step = new TrainingStep(network, anchors, loss, optimizer, gradientClipNorm: 10);
        var data = new RectangleBatches(imageSize, classes, seed);

        Console.WriteLine($"RetinaNet ResNet-{depth}-FPN, {imageSize}×{imageSize}, batch {batchSize}, {steps} steps, {get_num_threads()} threads, {classes} classes of generated rectangles");
        var times = new List<double>();
        for (int i = 1; i <= steps; i++)
        {
            using var batch = data.Next(batchSize);
            var watch = Stopwatch.StartNew();
            var losses = step.Run(batch);
            times.Add(watch.Elapsed.TotalSeconds);
            Console.WriteLine($"step {i,4}  loss {losses.Total,8:F4}  classification {losses.Classification,8:F4}  box {losses.Box,8:F4}  {times[^1],6:F2} s  RSS {Process.GetCurrentProcess().WorkingSet64 / 1048576} MiB");
        }
        var sorted = times.Skip(1).DefaultIfEmpty(times[0]).OrderBy(t => t).ToList();
        Console.WriteLine($"median step time (after the first): {sorted[sorted.Count / 2]:F3} s");
        return 0;
    }
}
