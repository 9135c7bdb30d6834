using System.Globalization;
using Microsoft.ML.RetinaNet.Detection;
using Microsoft.ML.RetinaNet.Modeling;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.RetinaNet.Scoring;
using Microsoft.ML.RetinaNet.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Onnx;

/// <summary>
/// Writes a fitted RetinaNet as one ONNX graph (opset 17) that runs in plain ONNX Runtime:
/// <list type="bullet">
/// <item><c>images</c>: float32 (N, 3, S, S), RGB in [0, 255], each image resized as ML.NET's
/// <c>ResizeImages(S, S, ResizingKind.IsoPad)</c> does (aspect kept, centred, black padding): what
/// <c>ExtractPixels(interleavePixelColors: false)</c> gives.</item>
/// <item><c>image_sizes</c>: float32 (N, 2), each original image's height and width.</item>
/// <item>outputs <c>boxes</c> (N, D, 4) x0 y0 x1 y1 in the original image's pixels, <c>scores</c> (N, D) descending with
/// −1 as padding, <c>labels</c> (N, D) int64 0-based, <c>count</c> (N) int64 valid detections; D = the detection cap.</item>
/// </list>
/// Inside: ImageNet normalisation, the ResNet body with BatchNorm folded into the convolutions, the FPN, both heads,
/// per-level sigmoid and top-k, box decoding against constant anchors, clipping, class-wise NonMaxSuppression (per-class
/// scores from a one-hot of each candidate's label) and the best D per image.
/// </summary>
internal sealed class RetinaNetOnnxExporter
{
    /// <summary>Names of the graph's inputs and outputs.</summary>
    internal sealed record Names(string Images, string ImageSizes, string Boxes, string Scores, string Labels, string Count)
    {
        private string[] All => new[] { Images, ImageSizes, Boxes, Scores, Labels, Count };

        /// <summary>Each of these names mapped to the same value's name in <paramref name="other"/>.</summary>
        public IReadOnlyDictionary<string, string> To(Names other) => All.Zip(other.All).ToDictionary(p => p.First, p => p.Second);
    }

    /// <summary>For users of plain ONNX Runtime.</summary>
    public static readonly Names PublicNames = new("images", "image_sizes", "boxes", "scores", "labels", "count");

    /// <summary>Inside the ML.NET scoring chain, where graph names are column names: prefixed so as not to hide the user's columns.</summary>
    public static readonly Names ChainNames = new("rn_images", "rn_image_sizes", "rn_boxes", "rn_scores", "rn_labels", "rn_count");

    /// <summary>A graph written with <see cref="ChainNames"/>, renamed to <see cref="PublicNames"/> (every other byte as it was).</summary>
    public static byte[] ToPublicNames(byte[] chainGraph) => OnnxRenamer.Rename(chainGraph, ChainNames.To(PublicNames));

    /// <summary>A new file name in the temporary folder for a graph the scoring chain reads.</summary>
    public static string TemporaryPath() => Path.Combine(Path.GetTempPath(), $"retinanet-{Guid.NewGuid():N}.onnx");

    private readonly OnnxGraph _g = new();
    private readonly Names _names;
    private readonly Dictionary<string, Tensor> _state;
    private readonly DetectorModel _model;
    private readonly NetworkConfig _config;

    private RetinaNetOnnxExporter(DetectorModel model, Names names)
    {
        _names = names;
        _model = model;
        _config = model.Network.Config;
        _state = model.Network.state_dict();
    }

    public static void Export(DetectorModel model, Stream stream, Names names)
    {
        using var scope = NewDisposeScope();
        var exporter = new RetinaNetOnnxExporter(model, names);
        exporter.Build();
        var metadata = new Dictionary<string, string>
        {
            ["image_size"] = model.CanvasSize.ToString(CultureInfo.InvariantCulture),
            ["class_names"] = string.Join("\n", model.ClassNames),
            ["anchors"] = model.AnchorOptions.ToString(),
            ["input"] = "images: float32 (N,3,S,S) RGB 0-255, IsoPad-resized (aspect kept, centred, black padding); image_sizes: float32 (N,2) "
                + "original height,width",
            ["outputs"] = "boxes (N,D,4) original pixels; scores (N,D) descending, -1 = padding; labels (N,D) int64 0-based; count (N) int64",
        };
        exporter._g.WriteModel(stream, "retinanet", typeof(RetinaNetOnnxExporter).Assembly.GetName().Version?.ToString() ?? "0", metadata);
    }

    private float[] Values(string key) => _state.TryGetValue(key, out var t) ? t.detach().to(ScalarType.Float32).ToArray<float>()
        : throw new KeyNotFoundException($"The network has no parameter '{key}'.");

    private long[] Shape(string key) => _state[key].shape;

    private void Build()
    {
        int s = _model.CanvasSize;
        _g.Input(_names.Images, OnnxType.Float, "N", 3, s, s);
        _g.Input(_names.ImageSizes, OnnxType.Float, "N", 2);
        var mean = _g.Floats(ImageNormalization.Mean, 1, 3, 1, 1);
        var std = _g.Floats(ImageNormalization.Std, 1, 3, 1, 1);
        var rgb = _g.Node("Div", new[] { _names.Images, _g.Floats(new[] { 255f }) });
        var x = _g.Node("Div", new[] { _g.Node("Sub", new[] { rgb, mean }), std });

        var (c3, c4, c5) = Body(x);
        var features = Fpn(new[] { c3, c4, c5 });
        var levels = NetworkConfig.LevelSizes(s, s);
        int k = _config.NumClasses;
        var logits = features.Select((f, l) => HeadLevel(f, l, "head.classification_head", "cls_logits", k)).ToArray();
        var deltas = features.Select((f, l) => HeadLevel(f, l, "head.regression_head", "bbox_reg", 4)).ToArray();
        PostProcess(logits, deltas, _model.Anchors.CountsPerLevel(levels), k);
    }

    // ---- body ----

    private string ConvBn(string input, string convKey, string bnPrefix, int stride, int padding) =>
        Conv(input, convKey, Shape(convKey + ".weight"), stride, padding, () =>
        {
            var w = Values(convKey + ".weight");
            var gamma = Values(bnPrefix + ".weight");
            var beta = Values(bnPrefix + ".bias");
            var mean = Values(bnPrefix + ".running_mean");
            var variance = Values(bnPrefix + ".running_var");
            long outChannels = gamma.Length, perOut = w.Length / outChannels;
            var bias = new float[outChannels];
            for (long o = 0; o < outChannels; o++)
            {
                // BatchNorm (eps 1e-5) folded: w' = w·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε)
                float factor = (float)(gamma[o] / Math.Sqrt(variance[o] + 1e-5));
                for (long i = 0; i < perOut; i++) w[o * perOut + i] *= factor;
                bias[o] = beta[o] - mean[o] * factor;
            }
            return (w, bias);
        });

    /// <summary>Initializers already written, by parameter name: the heads' weights are shared by the five levels.</summary>
    private readonly Dictionary<string, (string Weight, string Bias)> _written = new();

    /// <summary>A Conv node; <paramref name="values"/> is read (and its initializers written) only the first time <paramref name="name"/>
    /// is used.</summary>
    private string Conv(string input, string name, long[] shape, int stride, int padding, Func<(float[] Weight, float[] Bias)> values)
    {
        if (!_written.TryGetValue(name, out var names))
        {
            var (weight, bias) = values();
            _written[name] = names = (_g.Initializer(_g.Name(name + ".w"), weight, shape), _g.Initializer(_g.Name(name + ".b"), bias, shape[0]));
        }
        var (wName, bName) = names;
        return _g.Node("Conv", new[] { input, wName, bName },
            ("kernel_shape", new[] { shape[2], shape[3] }), ("strides", new long[] { stride, stride }),
            ("pads", new long[] { padding, padding, padding, padding }));
    }

    private string ConvKey(string input, string key, int stride, int padding) =>
        Conv(input, key, Shape(key + ".weight"), stride, padding, () => (Values(key + ".weight"), Values(key + ".bias")));

    private string Relu(string x) => _g.Node("Relu", new[] { x });

    private (string C3, string C4, string C5) Body(string x)
    {
        const string p = "backbone.body.";
        x = Relu(ConvBn(x, p + "conv1", p + "bn1", 2, 3));
        x = _g.Node("MaxPool", new[] { x }, ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1,
            1 }));
        var bottleneck = ResNetBody.LayerCounts(_config.Depth).Bottleneck;
        var blocks = _config.Blocks;
        var outputs = new string[4];
        for (int layer = 0; layer < 4; layer++)
        {
            for (int b = 0; b < blocks[layer]; b++)
            {
                string bp = $"{p}layer{layer + 1}.{b}.";
                int stride = layer > 0 && b == 0 ? 2 : 1;
                string y;
                if (bottleneck)
                {
                    y = Relu(ConvBn(x, bp + "conv1", bp + "bn1", 1, 0));
                    y = Relu(ConvBn(y, bp + "conv2", bp + "bn2", stride, 1));
                    y = ConvBn(y, bp + "conv3", bp + "bn3", 1, 0);
                }
                else
                {
                    y = Relu(ConvBn(x, bp + "conv1", bp + "bn1", stride, 1));
                    y = ConvBn(y, bp + "conv2", bp + "bn2", 1, 1);
                }
                var identity = _state.ContainsKey(bp + "downsample.0.weight") ? ConvBn(x, bp + "downsample.0", bp + "downsample.1", stride, 0) : x;
                x = Relu(_g.Node("Add", new[] { y, identity }));
            }
            outputs[layer] = x;
        }
        return (outputs[1], outputs[2], outputs[3]);
    }

    // ---- FPN ----

    private string[] Fpn(string[] c)
    {
        const string p = "backbone.fpn.";
        var results = new string[5];
        var last = ConvKey(c[2], p + "inner_blocks.2.0", 1, 0);
        results[2] = ConvKey(last, p + "layer_blocks.2.0", 1, 1);
        for (int i = 1; i >= 0; i--)
        {
            var lateral = ConvKey(c[i], $"{p}inner_blocks.{i}.0", 1, 0);
            // nearest ×2 (the canvas is a multiple of 32, so every level is exactly twice the next): out[i] = in[floor(i/2)]
            var up = _g.Node("Resize", new[] { last, "", _g.Floats(new[] { 1f, 1f, 2f, 2f }) },
                ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));
            last = _g.Node("Add", new[] { lateral, up });
            results[i] = ConvKey(last, $"{p}layer_blocks.{i}.0", 1, 1);
        }
        var p6Input = _config.Version == RetinaNetVersion.V1 ? results[2] : c[2];
        results[3] = ConvKey(p6Input, p + "extra_blocks.p6", 2, 1);
        results[4] = ConvKey(Relu(results[3]), p + "extra_blocks.p7", 2, 1);
        return results;
    }

    // ---- heads ----

    private string HeadLevel(string feature, int level, string prefix, string outputName, int valuesPerAnchor)
    {
        var y = feature;
        bool groupNorm = _config.Version == RetinaNetVersion.V2;
        for (int i = 0; i < 4; i++)
        {
            string cp = $"{prefix}.conv.{i}.0";
            y = groupNorm
                ? Conv(y, cp, Shape(cp + ".weight"), 1, 1, () => (Values(cp + ".weight"), new float[Shape(cp + ".weight")[0]]))
                : ConvKey(y, cp, 1, 1);
            if (groupNorm)
                y = GroupNorm(y, $"{prefix}.conv.{i}.1", 32);
            y = Relu(y);
        }
        y = ConvKey(y, $"{prefix}.{outputName}", 1, 1);
        // (N, A*V, H, W) -> (N, H, W, A*V) -> (N, H*W*A, V)
        y = _g.Node("Transpose", new[] { y }, ("perm", new long[] { 0, 2, 3, 1 }));
        long keep = _config.LevelAnchorsPerLocation(level);
        if (keep == _config.AnchorsPerLocation)
            return _g.Node("Reshape", new[] { y, _g.Ints(0, -1, valuesPerAnchor) });
        // a level with fewer anchor centres per cell keeps the first A_l anchors of every location:
        // (N, H, W, A*V) -> (N, H*W, A, V) -> (N, H*W, A_l, V) -> (N, H*W*A_l, V)
        y = _g.Node("Reshape", new[] { y, _g.Ints(0, -1, _config.AnchorsPerLocation, valuesPerAnchor) });
        y = _g.Node("Slice", new[] { y, _g.Ints(0), _g.Ints(keep), _g.Ints(2) });
        return _g.Node("Reshape", new[] { y, _g.Ints(0, -1, valuesPerAnchor) });
    }

    /// <summary>GroupNorm(groups, eps 1e-5) from primitive ops (GroupNormalization needs opset 18).</summary>
    private string GroupNorm(string x, string prefix, int groups)
    {
        var gamma = Values(prefix + ".weight");
        var grouped = _g.Node("Reshape", new[] { x, _g.Ints(0, groups, -1) });
        var mean = _g.Node("ReduceMean", new[] { grouped }, ("axes", new long[] { 2 }), ("keepdims", 1L));
        var centred = _g.Node("Sub", new[] { grouped, mean });
        var variance = _g.Node("ReduceMean", new[] { _g.Node("Mul", new[] { centred, centred }) }, ("axes", new long[] { 2 }), ("keepdims", 1L));
        var normalised = _g.Node("Div", new[] { centred, _g.Node("Sqrt", new[] { _g.Node("Add", new[] { variance, _g.Floats(new[] { 1e-5f }) }) }) });
        var back = _g.Node("Reshape", new[] { normalised, _g.Node("Shape", new[] { x }) });
        if (!_written.TryGetValue(prefix, out var affine))
            _written[prefix] = affine = (_g.Initializer(_g.Name(prefix + ".weight"), gamma, 1, gamma.Length, 1, 1),
                _g.Initializer(_g.Name(prefix + ".bias"), Values(prefix + ".bias"), 1, gamma.Length, 1, 1));
        return _g.Node("Add", new[] { _g.Node("Mul", new[] { back, affine.Weight }), affine.Bias });
    }

    // ---- post-processing ----

    private void PostProcess(string[] logits, string[] deltas, long[] anchorsPerLevel, int numClasses)
    {
        var settings = _model.PostProcessing;
        var anchors = _model.Anchors.Generate(NetworkConfig.LevelSizes(_model.CanvasSize, _model.CanvasSize), (_model.CanvasSize, _model.CanvasSize),
            CPU);
        var geometry = Geometry();
        var boxes = new List<string>();
        var scores = new List<string>();
        var labels = new List<string>();
        long start = 0;
        for (int l = 0; l < logits.Length; l++)
        {
            long count = anchorsPerLevel[l];
            long k = Math.Min(settings.TopKCandidates, count * numClasses);
            var levelAnchors = anchors.narrow(0, start, count).ToArray<float>();
            var anchorName = _g.Initializer(_g.Name($"anchors_p{l + 3}"), levelAnchors, count, 4);
            // (N, A_l, K) -> sigmoid -> (N, A_l*K) -> top k
            var flat = _g.Node("Reshape", new[] { _g.Node("Sigmoid", new[] { logits[l] }), _g.Ints(0, -1) });
            var top = _g.NodeN("TopK", new[] { flat, _g.Ints(k) }, 2, ("axis", 1L), ("largest", 1L), ("sorted", 1L));
            var anchorIndex = _g.Node("Div", new[] { top[1], _g.Ints(numClasses) });
            labels.Add(_g.Node("Mod", new[] { top[1], _g.Ints(numClasses) }));
            scores.Add(top[0]);
            // (N, k) -> (N, k, 4) indices into the level's deltas
            var index4 = _g.Node("Expand", new[] { _g.Node("Unsqueeze", new[] { anchorIndex, _g.Ints(2) }), _g.Ints(1, 1, 4) });
            var d = _g.Node("GatherElements", new[] { deltas[l], index4 }, ("axis", 1L));
            var an = _g.Node("Gather", new[] { anchorName, anchorIndex }, ("axis", 0L));
            boxes.Add(Clip(Decode(d, an), geometry.X0, geometry.Y0, geometry.X1, geometry.Y1));
            start += count;
        }
        var allBoxes = _g.Node("Concat", boxes.ToArray(), ("axis", 1L));     // (N, M, 4)
        var allScores = _g.Node("Concat", scores.ToArray(), ("axis", 1L));   // (N, M)
        var allLabels = _g.Node("Concat", labels.ToArray(), ("axis", 1L));   // (N, M)
        long m = anchorsPerLevel.Select((c, i) => Math.Min(settings.TopKCandidates, c * numClasses)).Sum();

        // per-class scores (N, K, M): a candidate scores only in its own class
        var oneHot = _g.Node("OneHot", new[] { allLabels, _g.Ints(numClasses), _g.Floats(new[] { 0f, 1f }) }, ("axis", -1L)); // (N, M, K)
        var classScores = _g.Node("Transpose", new[] { _g.Node("Mul", new[] { oneHot, _g.Node("Unsqueeze", new[] { allScores, _g.Ints(2) }) }) },
            ("perm", new long[] { 0, 2, 1 }));
        var selected = _g.Node("NonMaxSuppression", new[] { allBoxes, classScores, _g.Ints(m), _g.Floats(new[] { (float)settings.NmsThreshold }),
            _g.Floats(new[] { (float)settings.ScoreThreshold }) },
            ("center_point_box", 0L)); // (S, 3): image, class, candidate
        var imageAndBox = _g.Node("Gather", new[] { selected, _g.Ints(0, 2) }, ("axis", 1L)); // (S, 2)
        var keptScores = _g.Node("GatherND", new[] { allScores, imageAndBox });
        var minusOne = _g.Node("Sub", new[] { _g.Node("Mul", new[] { allScores, _g.Floats(new[] { 0f }) }), _g.Floats(new[] { 1f }) });
        var kept = _g.Node("ScatterND", new[] { minusOne, imageAndBox, keptScores }); // (N, M), −1 where suppressed
        long dets = Math.Min(settings.DetectionsPerImage, m);
        var best = _g.NodeN("TopK", new[] { kept, _g.Ints(dets) }, 2, ("axis", 1L), ("largest", 1L), ("sorted", 1L));
        var best4 = _g.Node("Expand", new[] { _g.Node("Unsqueeze", new[] { best[1], _g.Ints(2) }), _g.Ints(1, 1, 4) });
        Rename(ToOriginal(_g.Node("GatherElements", new[] { allBoxes, best4 }, ("axis", 1L)), geometry), _names.Boxes);
        Rename(best[0], _names.Scores);
        Rename(_g.Node("GatherElements", new[] { allLabels, best[1] }, ("axis", 1L)), _names.Labels);
        var valid = _g.Node("Cast", new[] { _g.Node("Greater", new[] { best[0], _g.Floats(new[] { -0.5f }) }) }, ("to", (long)OnnxType.Int64));
        Rename(_g.Node("ReduceSum", new[] { valid, _g.Ints(1) }, ("keepdims", 0L)), _names.Count);
        _g.Output(_names.Boxes, OnnxType.Float, "N", dets, 4);
        _g.Output(_names.Scores, OnnxType.Float, "N", dets);
        _g.Output(_names.Labels, OnnxType.Int64, "N", dets);
        _g.Output(_names.Count, OnnxType.Int64, "N");
    }

    private void Rename(string value, string name) => _g.Identity(value, name);

    /// <summary>BoxCoder.Decode with weights 1 and dw, dh clamped at log(1000/16).</summary>
    private string Decode(string deltas, string anchors)
    {
        var a = _g.NodeN("Split", new[] { anchors }, 4, ("axis", 2L));
        var d = _g.NodeN("Split", new[] { deltas }, 4, ("axis", 2L));
        var w = _g.Node("Sub", new[] { a[2], a[0] });
        var h = _g.Node("Sub", new[] { a[3], a[1] });
        var half = _g.Floats(new[] { 0.5f });
        var cx = _g.Node("Add", new[] { a[0], _g.Node("Mul", new[] { half, w }) });
        var cy = _g.Node("Add", new[] { a[1], _g.Node("Mul", new[] { half, h }) });
        var clip = _g.Floats(new[] { (float)BoxCoder.DefaultClip });
        var dw = _g.Node("Min", new[] { d[2], clip });
        var dh = _g.Node("Min", new[] { d[3], clip });
        var pcx = _g.Node("Add", new[] { _g.Node("Mul", new[] { d[0], w }), cx });
        var pcy = _g.Node("Add", new[] { _g.Node("Mul", new[] { d[1], h }), cy });
        var halfW = _g.Node("Mul", new[] { half, _g.Node("Mul", new[] { _g.Node("Exp", new[] { dw }), w }) });
        var halfH = _g.Node("Mul", new[] { half, _g.Node("Mul", new[] { _g.Node("Exp", new[] { dh }), h }) });
        return _g.Node("Concat", new[] { _g.Node("Sub", new[] { pcx, halfW }), _g.Node("Sub", new[] { pcy, halfH }), _g.Node("Add", new[] { pcx,
            halfW }), _g.Node("Add", new[] { pcy, halfH }) }, ("axis", 2L));
    }

    /// <summary>Per image (N, 1, 1): the IsoPad letterbox (see Data/Letterbox.cs), in float32 as ML.NET computes it.</summary>
    private (string X0, string Y0, string X1, string Y1, string ScaleX, string ScaleY, string Width, string Height) Geometry()
    {
        var sizes = _g.NodeN("Split", new[] { _names.ImageSizes }, 2, ("axis", 1L)); // (N, 1) height, (N, 1) width
        var height = _g.Node("Unsqueeze", new[] { sizes[0], _g.Ints(2) });       // (N, 1, 1)
        var width = _g.Node("Unsqueeze", new[] { sizes[1], _g.Ints(2) });
        var canvas = _g.Floats(new[] { (float)_model.CanvasSize });
        var scale = _g.Node("Min", new[] { _g.Node("Div", new[] { canvas, width }), _g.Node("Div", new[] { canvas, height }) });
        var w = _g.Node("Mul", new[] { width, scale });
        var h = _g.Node("Mul", new[] { height, scale });
        var contentW = _g.Node("Floor", new[] { w });
        var contentH = _g.Node("Floor", new[] { h });
        var two = _g.Floats(new[] { 2f });
        var x0 = _g.Node("Floor", new[] { _g.Node("Div", new[] { _g.Node("Sub", new[] { canvas, w }), two }) });
        var y0 = _g.Node("Floor", new[] { _g.Node("Div", new[] { _g.Node("Sub", new[] { canvas, h }), two }) });
        return (x0, y0, _g.Node("Add", new[] { x0, contentW }), _g.Node("Add", new[] { y0, contentH }),
            _g.Node("Div", new[] { contentW, width }), _g.Node("Div", new[] { contentH, height }), width, height);
    }

    /// <summary>x to [x0, x1], y to [y0, y1] of each image's content on the canvas.</summary>
    private string Clip(string boxes, string x0, string y0, string x1, string y1)
    {
        var c = _g.NodeN("Split", new[] { boxes }, 4, ("axis", 2L));
        string Clamp(string v, string lo, string hi) => _g.Node("Max", new[] { _g.Node("Min", new[] { v, hi }), lo });
        return _g.Node("Concat", new[] { Clamp(c[0], x0, x1), Clamp(c[1], y0, y1), Clamp(c[2], x0, x1), Clamp(c[3], y0, y1) }, ("axis", 2L));
    }

    /// <summary>Canvas pixels to original pixels: (v − offset) / scale, clamped to the image.</summary>
    private string ToOriginal(string boxes, (string X0, string Y0, string X1, string Y1, string ScaleX, string ScaleY, string Width, string Height) g)
    {
        var c = _g.NodeN("Split", new[] { boxes }, 4, ("axis", 2L));
        var zero = _g.Floats(new[] { 0f });
        string Map(string v, string offset, string scale, string limit) =>
            _g.Node("Max", new[] { _g.Node("Min", new[] { _g.Node("Div", new[] { _g.Node("Sub", new[] { v, offset }), scale }), limit }), zero });
        return _g.Node("Concat", new[] { Map(c[0], g.X0, g.ScaleX, g.Width), Map(c[1], g.Y0, g.ScaleY, g.Height), Map(c[2], g.X0, g.ScaleX, g.Width),
            Map(c[3], g.Y0, g.ScaleY, g.Height) }, ("axis", 2L));
    }
}
