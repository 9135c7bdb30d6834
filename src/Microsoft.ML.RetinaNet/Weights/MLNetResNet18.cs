using Microsoft.ML.RetinaNet.Onnx;
using Microsoft.ML.RetinaNet.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Weights;

/// <summary>
/// ML.NET's ImageNet ResNet-18 (package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>, MIT; a CNTK 2.6 ONNX graph) as a
/// torchvision-layout backbone state_dict (<c>conv1.weight</c>, <c>bn1.*</c>, <c>layerS.B.convN.weight</c>, <c>downsample.*</c>).
/// <para>
/// The layers are found by the graph's structure, not by CNTK's parameter names: the stem is the convolution on the graph
/// input followed by BatchNormalization, ReLU and MaxPool; every Add node is one basic block, whose two 3×3 convolutions
/// are traced back from one of its inputs and whose other input is the block's input (identity) or a 1×1 convolution of it
/// (projection). A block with a stride-2 first convolution starts a stage. The network has <b>[2, 2, 2, 3]</b> blocks —
/// one more in the last stage than torchvision's resnet18 — so the body is built with that layout
/// (<see cref="StageBlocks"/>); C3–C5 keep their channels and strides.
/// </para>
/// <para>
/// CNTK's padding ([3, 3, 2, 2] on the stem, [1, 1, 0, 0] on stride-2 convolutions and the pool) selects the same input
/// pixels as torchvision's symmetric padding for even input sizes, which the trainer's sizes (multiples of 32) always are.
/// </para>
/// <para>
/// Input convention: the package's <c>ResNetPreprocess.onnx</c> turns RGB 0–255 into BGR and subtracts a 224×224 mean
/// image. The import folds that into <c>conv1</c> and <c>bn1</c> so that the network takes the library's input (RGB in [0, 1]
/// normalised with the ImageNet mean and std): conv1's input channels are reordered to RGB and scaled by 255·std, and the
/// constant that remains (255·mean − the mean image's channel average, through conv1's weights) is moved into bn1's
/// running mean. What the per-channel fold leaves out: (1) the mean image's spatial variation around its channel
/// averages (std ≈ 3–6 of 255) — a fixed 224×224 pattern that cannot apply at other sizes; measured by the tests as the
/// difference between the package's two graphs and this body on the same images; (2) the zero padding of conv1, which
/// the CNTK graph applies after mean subtraction and this body before normalisation: at the 3-pixel border the
/// two differ by 255·mean − channel average ≈ 0.4–0.5 of 255 per channel.
/// </para>
/// </summary>
internal static class MLNetResNet18
{
    /// <summary>The NuGet package that ships the network.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The package version checked against.</summary>
    public const string PackageVersion = "0.24.0";

    /// <summary>ML.NET's folder name for its DNN image models (<c>DnnImageModelSelector</c>'s default <c>modelDir</c>).</summary>
    public const string DefaultModelsFolder = "DnnImageModels";

    /// <summary>Blocks per stage of this network.</summary>
    public static readonly int[] StageBlocks = { 2, 2, 2, 3 };

    /// <summary>
    /// The network's graph and the preprocessing graph: in <paramref name="modelsDirectory"/> when given; otherwise in the
    /// application's DnnImageModels folder (where the package's build props copy them), then in the package's folder in the
    /// NuGet cache (<c>NUGET_PACKAGES</c> or ~/.nuget/packages), which is where a notebook's <c>#r "nuget: …"</c> leaves them.
    /// </summary>
    public static (string Model, string Preprocess) Locate(string? modelsDirectory)
    {
        var candidates = modelsDirectory != null ? new[] { modelsDirectory } : DefaultDirectories();
        foreach (var directory in candidates)
        {
            var (model, preprocess) = Files(directory);
            if (File.Exists(model) && File.Exists(preprocess))
                return (model, preprocess);
        }
        var missing = candidates.Select(d => Files(d)).Select(f => File.Exists(f.Model) ? f.Preprocess : f.Model).ToList();
        throw new FileNotFoundException(
            $"The pretrained ResNet-18 backbone needs ML.NET's package {PackageId}, whose files are not there: looked "
                + $"for {string.Join(" and ", missing.Select(m => $"'{m}'"))}. " +
            $"Add the package ('dotnet add package {PackageId} --version {PackageVersion}', or '#r \"nuget: {PackageId}, {PackageVersion}\"' in a "
                + $"notebook); its build copies " +
            $"the DnnImageModels folder into the output. Or set DnnImageModelsDirectory (CLI --dnn-image-models-directory) to the folder that holds "
                + $"ResNet18Onnx/ResNet18.onnx and ResNetPrepOnnx/ResNetPreprocess.onnx.",
            missing[0]);
    }

    private static (string Model, string Preprocess) Files(string directory) =>
        (Path.Combine(directory, "ResNet18Onnx", "ResNet18.onnx"), Path.Combine(directory, "ResNetPrepOnnx", "ResNetPreprocess.onnx"));

    private static string[] DefaultDirectories()
    {
        string packages = Runtime.NuGetCache.Root;
        return new[]
        {
            Path.Combine(AppContext.BaseDirectory, DefaultModelsFolder),
            Path.Combine(packages, PackageId.ToLowerInvariant(), PackageVersion, "tools", DefaultModelsFolder),
        };
    }

    /// <summary>
    /// <see cref="Locate"/> then <see cref="Import"/>: the state_dict of the package's network and the path of the model file
    /// it came from (for messages).
    /// </summary>
    public static (Dictionary<string, Tensor> Weights, string ModelPath) Load(string? modelsDirectory)
    {
        var (model, preprocess) = Locate(modelsDirectory);
        return (Import(model, preprocess), model);
    }

    /// <summary>Imports the network as a torchvision-layout state_dict (CPU float32 tensors) with the input convention folded in.</summary>
    public static Dictionary<string, Tensor> Import(string modelPath, string preprocessPath)
    {
        var graph = OnnxModelReader.Read(modelPath);
        var channelMeans = MeanImageChannelAverages(preprocessPath);
        var weights = ReadStructure(graph, modelPath);
        FoldInputConvention(weights, channelMeans);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, (dims, data)) in weights)
            result[key] = tensor(data, dims);
        return result;
    }

    /// <summary>Per-channel averages (B, G, R order, 0–255) of the preprocessing graph's mean image.</summary>
    public static float[] MeanImageChannelAverages(string preprocessPath)
    {
        var graph = OnnxModelReader.Read(preprocessPath);
        var sub = graph.Nodes.FirstOrDefault(n => n.OpType == "Sub")
            ?? throw new InvalidDataException($"'{preprocessPath}' has no Sub node: it is not the ResNet preprocessing graph of {PackageId}.");
        var mean = sub.Inputs.Select(i => graph.Constants.GetValueOrDefault(i)).FirstOrDefault(t => t != null)
            ?? throw new InvalidDataException($"'{preprocessPath}': the Sub node subtracts no constant mean image.");
        if (mean.Dims.Length != 4 || mean.Dims[0] != 1 || mean.Dims[1] != 3)
            throw new InvalidDataException($"'{preprocessPath}': the mean image has dims [{string.Join(", ", mean.Dims)}], expected [1, 3, H, W].");
        long plane = mean.Dims[2] * mean.Dims[3];
        var averages = new float[3];
        for (int c = 0; c < 3; c++)
        {
            double sum = 0;
            for (long i = 0; i < plane; i++) sum += mean.Data[c * plane + i];
            averages[c] = (float)(sum / plane);
        }
        return averages;
    }

    /// <summary>The graph's weights by torchvision key: (dims, row-major data).</summary>
    internal static Dictionary<string, (long[] Dims, float[] Data)> ReadStructure(OnnxModel graph, string path)
    {
        var producers = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
            foreach (var output in node.Outputs)
                producers[output] = node;
        var weights = new Dictionary<string, (long[], float[])>(StringComparer.Ordinal);
        InvalidDataException Bad(string what) => new($"'{path}' does not have the structure of {PackageId}'s ResNet-18: {what}");

        var dataInputs = graph.Inputs.Where(i => !graph.Constants.ContainsKey(i.Name)).ToList();
        if (dataInputs.Count != 1)
            throw Bad($"expected one image input, found {dataInputs.Count}.");
        var stemConv = graph.Nodes.FirstOrDefault(n => n.OpType == "Conv" && n.Inputs[0] == dataInputs[0].Name)
            ?? throw Bad("no convolution reads the image input.");
        var stemBn = Consumer(graph, stemConv.Outputs[0],
            "BatchNormalization") ?? throw Bad("the stem convolution is not followed by BatchNormalization.");
        var stemRelu = Consumer(graph, stemBn.Outputs[0], "Relu") ?? throw Bad("the stem has no ReLU.");
        var pool = Consumer(graph, stemRelu.Outputs[0], "MaxPool") ?? throw Bad("the stem has no max pool.");
        CheckConv(stemConv, 7, 2, Bad);
        AddConv(weights, "conv1", stemConv, graph, Bad);
        AddBatchNorm(weights, "bn1", stemBn, stemConv, graph, Bad);

        string blockInput = pool.Outputs[0];
        int stage = 0, blockInStage = 0;
        var layout = new List<int>();
        foreach (var add in graph.Nodes.Where(n => n.OpType == "Add"))
        {
            // Find the residual branch: BN <- Conv(3x3) <- ReLU <- BN <- Conv(3x3) <- block input.
            (OnnxNode Conv1, OnnxNode Bn1, OnnxNode Conv2, OnnxNode Bn2)? branch = null;
            string? shortcut = null;
            foreach (var (input, other) in new[] { (add.Inputs[0], add.Inputs[1]), (add.Inputs[1], add.Inputs[0]) })
            {
                if (Producer(producers, input, "BatchNormalization") is not { } bn2
                    || Producer(producers, bn2.Inputs[0], "Conv") is not { } conv2 || conv2.IntsOr("kernel_shape")[0] != 3
                    || Producer(producers, conv2.Inputs[0], "Relu") is not { } innerRelu
                    || Producer(producers, innerRelu.Inputs[0], "BatchNormalization") is not { } bn1
                    || Producer(producers, bn1.Inputs[0], "Conv") is not { } conv1 || conv1.Inputs[0] != blockInput)
                    continue;
                branch = (conv1, bn1, conv2, bn2);
                shortcut = other;
                break;
            }
            if (branch is not { } b)
                throw Bad($"the Add node '{add.Name}' is not a basic block on the previous block's output '{blockInput}'.");
            long stride = b.Conv1.IntsOr("strides", 1, 1)[0];
            if (stride == 2)
            {
                layout.Add(blockInStage);
                stage++;
                blockInStage = 0;
            }
            else if (stride != 1)
            {
                throw Bad($"the block at '{add.Name}' has stride {stride}.");
            }
            if (stage > 3)
                throw Bad("more than four stages.");
            string prefix = $"layer{stage + 1}.{blockInStage}.";
            CheckConv(b.Conv1, 3, stride, Bad);
            CheckConv(b.Conv2, 3, 1, Bad);
            AddConv(weights, prefix + "conv1", b.Conv1, graph, Bad);
            AddBatchNorm(weights, prefix + "bn1", b.Bn1, b.Conv1, graph, Bad);
            AddConv(weights, prefix + "conv2", b.Conv2, graph, Bad);
            AddBatchNorm(weights, prefix + "bn2", b.Bn2, b.Conv2, graph, Bad);
            if (shortcut != blockInput)
            {
                if (Producer(producers, shortcut!, "BatchNormalization") is not { } dsBn
                    || Producer(producers, dsBn.Inputs[0], "Conv") is not { } dsConv || dsConv.Inputs[0] != blockInput)
                    throw Bad($"the shortcut of '{add.Name}' is neither the block input nor a projection of it.");
                CheckConv(dsConv, 1, stride, Bad);
                AddConv(weights, prefix + "downsample.0", dsConv, graph, Bad);
                AddBatchNorm(weights, prefix + "downsample.1", dsBn, dsConv, graph, Bad);
            }
            else if (stride != 1)
            {
                throw Bad($"the stride-2 block at '{add.Name}' has no projection shortcut.");
            }
            var relu = Consumer(graph, add.Outputs[0], "Relu") ?? throw Bad($"no ReLU after '{add.Name}'.");
            blockInput = relu.Outputs[0];
            blockInStage++;
        }
        layout.Add(blockInStage);
        if (!layout.SequenceEqual(StageBlocks))
            throw Bad($"its stages have [{string.Join(", ", layout)}] blocks, expected [{string.Join(", ", StageBlocks)}].");
        return weights;
    }

    private static OnnxNode? Producer(Dictionary<string, OnnxNode> producers, string value, string opType) =>
        producers.TryGetValue(value, out var node) && node.OpType == opType ? node : null;

    private static OnnxNode? Consumer(OnnxModel graph, string value, string opType) =>
        graph.Nodes.FirstOrDefault(n => n.OpType == opType && n.Inputs.Length > 0 && n.Inputs[0] == value);

    private static void CheckConv(OnnxNode conv, long kernel, long stride, Func<string, InvalidDataException> bad)
    {
        var k = conv.IntsOr("kernel_shape");
        var s = conv.IntsOr("strides", 1, 1);
        if (k.Length != 2 || k[0] != kernel || k[1] != kernel || s[0] != stride || s[1] != stride || conv.IntsOr("group", 1)[0] != 1)
            throw bad($"the convolution '{conv.Name}' has kernel [{string.Join(", ", k)}], strides [{string.Join(", ", s)}]; "
                + $"expected {kernel}×{kernel}, stride {stride}.");
    }

    private static OnnxTensor Constant(OnnxModel graph, string name, Func<string, InvalidDataException> bad) =>
        graph.Constants.TryGetValue(name, out var t) ? t : throw bad($"'{name}' is not a float constant.");

    private static void AddConv(Dictionary<string, (long[], float[])> weights, string key, OnnxNode conv, OnnxModel graph, Func<string,
        InvalidDataException> bad)
    {
        var w = Constant(graph, conv.Inputs[1], bad);
        weights[key + ".weight"] = (w.Dims, w.Data);
    }

    /// <summary>
    /// BatchNormalization (X, scale, B, mean, var) as FrozenBatchNorm2d buffers with ε = 1e-5: a convolution bias is moved
    /// into the running mean and another ε into the running variance, both exactly.
    /// </summary>
    private static void AddBatchNorm(Dictionary<string, (long[], float[])> weights, string key, OnnxNode bn, OnnxNode conv, OnnxModel graph,
        Func<string, InvalidDataException> bad)
    {
        if (bn.Inputs.Length != 5)
            throw bad($"BatchNormalization '{bn.Name}' has {bn.Inputs.Length} inputs, expected 5.");
        var scale = Constant(graph, bn.Inputs[1], bad).Data;
        var shift = Constant(graph, bn.Inputs[2], bad).Data;
        var mean = (float[])Constant(graph, bn.Inputs[3], bad).Data.Clone();
        var variance = (float[])Constant(graph, bn.Inputs[4], bad).Data.Clone();
        double epsilon = bn.FloatOr("epsilon", 1e-5f);
        for (int c = 0; c < variance.Length; c++)
            variance[c] = (float)(variance[c] + epsilon - 1e-5);
        if (conv.Inputs.Length > 2)
        {
            var bias = Constant(graph, conv.Inputs[2], bad).Data;
            for (int c = 0; c < mean.Length; c++) mean[c] -= bias[c];
        }
        long n = scale.Length;
        weights[key + ".weight"] = (new[] { n }, scale);
        weights[key + ".bias"] = (new[] { n }, shift);
        weights[key + ".running_mean"] = (new[] { n }, mean);
        weights[key + ".running_var"] = (new[] { n }, variance);
    }

    /// <summary>
    /// The CNTK network sees z[c'] = 255·x[c] − m[c'] (c' the BGR index of RGB channel c, m the mean image's channel
    /// averages); this body sees n[c] = (x[c] − mean[c]) / std[c]. So z[c'] = 255·std[c]·n[c] + (255·mean[c] − m[c']):
    /// conv1's weight for RGB channel c is CNTK's for c' times 255·std[c], and conv1 of the constant term — the sum of
    /// each filter's weights times that term — is subtracted from bn1's running mean.
    /// </summary>
    private static void FoldInputConvention(Dictionary<string, (long[] Dims, float[] Data)> weights, float[] meanBgr)
    {
        var (dims, w) = weights["conv1.weight"];
        long outChannels = dims[0], inChannels = dims[1], kernel = dims[2] * dims[3];
        if (inChannels != 3)
            throw new InvalidDataException($"The stem convolution has {inChannels} input channels, expected 3.");
        var folded = new float[w.Length];
        var offset = new double[outChannels];
        for (long o = 0; o < outChannels; o++)
        {
            for (int c = 0; c < 3; c++)
            {
                int cntkChannel = 2 - c; // RGB -> BGR
                double scale = 255.0 * ImageNormalization.Std[c];
                double constant = 255.0 * ImageNormalization.Mean[c] - meanBgr[cntkChannel];
                for (long k = 0; k < kernel; k++)
                {
                    float source = w[(o * 3 + cntkChannel) * kernel + k];
                    folded[(o * 3 + c) * kernel + k] = (float)(source * scale);
                    offset[o] += source * constant;
                }
            }
        }
        weights["conv1.weight"] = (dims, folded);
        var (meanDims, runningMean) = weights["bn1.running_mean"];
        var shifted = new float[runningMean.Length];
        for (int o = 0; o < shifted.Length; o++)
            shifted[o] = (float)(runningMean[o] - offset[o]);
        weights["bn1.running_mean"] = (meanDims, shifted);
    }
}
