using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.RetinaNet.Onnx;

/// <summary>
/// Calibrates and quantises a float32 RetinaNet graph: runs it in ONNX Runtime on sample images with every activation
/// <see cref="OnnxQuantizer"/> will quantise added as an output, keeps each one's range, and writes the QDQ graph.
/// </summary>
internal static class Int8Calibrator
{
    /// <summary>
    /// The int8 graph of <paramref name="model"/> (float32 bytes). <paramref name="preprocessed"/> holds the images as the
    /// scoring chain hands them to the graph: the column <c>rn_images</c> (3·S·S floats) and <c>rn_image_sizes</c>.
    /// </summary>
    public static byte[] Quantize(byte[] model, IDataView preprocessed, int maxImages, out Int8Summary summary)
    {
        var ranges = Calibrate(model, preprocessed, maxImages, out int images);
        var quantised = OnnxQuantizer.Quantize(model, ranges, out int convolutions);
        summary = new Int8Summary(images, convolutions, ranges.Count);
        return quantised;
    }

    public static Dictionary<string, ActivationRange> Calibrate(byte[] model, IDataView preprocessed, int maxImages, out int images)
    {
        if (maxImages < 1)
            throw new ArgumentOutOfRangeException(nameof(maxImages), maxImages, "Calibrate on at least one image.");
        var parsed = OnnxModelReader.Read(model);
        if (parsed.Inputs.Count != 2)
            throw new InvalidDataException($"Expected a RetinaNet graph with 2 inputs (images, image sizes); this one has {parsed.Inputs.Count}.");
        var tensors = OnnxQuantizer.CalibrationTensors(parsed); // the graph read once for its inputs and its plan
        var ranges = tensors.ToDictionary(t => t, _ => new ActivationRange(float.PositiveInfinity, float.NegativeInfinity), StringComparer.Ordinal);
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC };
        using var session = new InferenceSession(OnnxQuantizer.WithOutputs(model, tensors), options);
        long size = parsed.Inputs[0].Dims[2];
        var imagesColumn = preprocessed.Schema["rn_images"];
        var sizesColumn = preprocessed.Schema["rn_image_sizes"];
        images = 0;
        using var cursor = preprocessed.GetRowCursor(new[] { imagesColumn, sizesColumn });
        var getImage = cursor.GetGetter<VBuffer<float>>(imagesColumn);
        var getSize = cursor.GetGetter<VBuffer<float>>(sizesColumn);
        VBuffer<float> image = default, sizeBuffer = default;
        while (images < maxImages && cursor.MoveNext())
        {
            getImage(ref image);
            getSize(ref sizeBuffer);
            var pixels = image.DenseValues().ToArray();
            if (pixels.Length != 3 * size * size)
                throw new InvalidDataException($"Calibration row {cursor.Position}: {pixels.Length} pixel values, expected 3×{size}×{size}.");
            var inputs = new[]
            {
                NamedOnnxValue.CreateFromTensor(parsed.Inputs[0].Name, new DenseTensor<float>(pixels, new[] { 1, 3, (int)size, (int)size })),
                NamedOnnxValue.CreateFromTensor(parsed.Inputs[1].Name, new DenseTensor<float>(sizeBuffer.DenseValues().ToArray(), new[] { 1, 2 })),
            };
            using var results = session.Run(inputs, tensors);
            foreach (var result in results)
            {
                var values = result.AsTensor<float>();
                float min = float.PositiveInfinity, max = float.NegativeInfinity;
                foreach (float v in values)
                {
                    if (v < min) min = v;
                    if (v > max) max = v;
                }
                var r = ranges[result.Name];
                ranges[result.Name] = new ActivationRange(Math.Min(r.Min, min), Math.Max(r.Max, max));
            }
            images++;
        }
        if (images == 0)
            throw new ArgumentException("The calibration data has no rows; give it some training images.");
        return ranges;
    }
}

/// <summary>What a quantisation did: images calibrated on, convolutions made int8, activations quantised.</summary>
internal readonly record struct Int8Summary(int CalibrationImages, int Convolutions, int Activations);
