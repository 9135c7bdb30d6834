using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.RetinaNet.Scoring;

// The two custom mappings of the saved scoring chain. ML.NET finds them by contract name when a model is loaded,
// after mlContext.ComponentCatalog.RegisterAssembly(typeof(RetinaNetTransformer).Assembly) (RetinaNetCatalog.RegisterRetinaNet).
// They are public because ML.NET binds their properties by reflection; they are not meant to be used directly.

/// <summary>
/// Binds an <see cref="MLImage"/> member to an image column of any size (ML.NET 5.0.1's own parameterless
/// <c>[ImageType]</c> throws).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class AnyImageSizeAttribute : DataViewTypeAttribute
{
    /// <inheritdoc />
    public override bool Equals(DataViewTypeAttribute other) => other is AnyImageSizeAttribute;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is AnyImageSizeAttribute;

    /// <inheritdoc />
    public override int GetHashCode() => nameof(AnyImageSizeAttribute).GetHashCode(StringComparison.Ordinal);

    /// <inheritdoc />
    public override void Register() => DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage), this);
}

/// <summary>Input of the image-size mapping: the image.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageSizeInput
{
    /// <summary>The image (copied from the trainer's image column).</summary>
    [AnyImageSize]
    public MLImage? rn_image { get; set; }
}

/// <summary>Output of the image-size mapping: height and width.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageSizeOutput
{
    /// <summary>Original height and width, the ONNX graph's <c>image_sizes</c> input.</summary>
    [VectorType(2)]
    public float[] rn_image_sizes { get; set; } = new float[2];
}

/// <summary>Reads each image's height and width for the ONNX graph (which maps boxes back to original pixels).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ImageSizeMapping : CustomMappingFactory<ImageSizeInput, ImageSizeOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.RetinaNet.ImageSize";

    /// <summary>
    /// Height, width of the image; 0, 0 when there is none. An image that ML.NET's LoadImages read from a file (its
    /// <c>Tag</c> is the path) is checked to decode to its last row first: a truncated file decodes partly without an
    /// error, and the detector would score its grey remainder. Such a row stops with an <see cref="InvalidDataException"/>
    /// naming the file and the decoder's reason, as LoadImages itself does for a file it cannot read at all.
    /// </summary>
    public static void Map(ImageSizeInput input, ImageSizeOutput output)
    {
        if (input.rn_image is not { } image)
        {
            output.rn_image_sizes = new float[2];
            return;
        }
        if (image.Tag is string path && path.Length > 0 && Datasets.ImageFiles.Problem(path) is { } problem)
            throw new InvalidDataException($"Image '{path}' cannot be scored: {problem}. Replace or remove the file (Microsoft.ML.RetinaNet.Datasets.ImageFiles.Problem checks files before scoring).");
        output.rn_image_sizes = new float[] { image.Height, image.Width };
    }

    /// <inheritdoc />
    public override Action<ImageSizeInput, ImageSizeOutput> GetMapping() => Map;
}

/// <summary>Input of the detections mapping: the ONNX graph's padded outputs.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class DetectionsInput
{
    /// <summary>(1, D, 4) boxes in original pixels.</summary>
    public float[] rn_boxes { get; set; } = Array.Empty<float>();

    /// <summary>(1, D) scores, −1 padding.</summary>
    public float[] rn_scores { get; set; } = Array.Empty<float>();

    /// <summary>(1, D) 0-based labels.</summary>
    public long[] rn_labels { get; set; } = Array.Empty<long>();

    /// <summary>(1) valid detections.</summary>
    public long[] rn_count { get; set; } = Array.Empty<long>();
}

/// <summary>Output of the detections mapping: variable-length vectors without the padding.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class DetectionsOutput
{
    /// <summary>1-based class index per detection (mapped to the label keys next).</summary>
    public uint[] rn_label_index { get; set; } = Array.Empty<uint>();

    /// <summary>Scores, descending.</summary>
    public float[] rn_score { get; set; } = Array.Empty<float>();

    /// <summary>4 values per detection.</summary>
    public float[] rn_predicted_boxes { get; set; } = Array.Empty<float>();
}

/// <summary>Cuts the ONNX graph's fixed-size outputs to the valid detections.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class DetectionsMapping : CustomMappingFactory<DetectionsInput, DetectionsOutput>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.RetinaNet.Detections";

    /// <summary>Keeps the first count detections; labels become 1-based.</summary>
    public static void Map(DetectionsInput input, DetectionsOutput output)
    {
        int count = input.rn_count.Length == 0 ? 0 : (int)Math.Clamp(input.rn_count[0], 0, input.rn_scores.Length);
        output.rn_score = input.rn_scores.AsSpan(0, count).ToArray();
        output.rn_predicted_boxes = input.rn_boxes.AsSpan(0, 4 * count).ToArray();
        output.rn_label_index = input.rn_labels.Take(count).Select(l => (uint)(l + 1)).ToArray();
    }

    /// <inheritdoc />
    public override Action<DetectionsInput, DetectionsOutput> GetMapping() => Map;
}
