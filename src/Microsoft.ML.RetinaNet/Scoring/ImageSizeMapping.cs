using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.RetinaNet.Scoring;

// One of the two custom mappings of the saved scoring chain (ImageSizeMapping, DetectionsMapping). ML.NET finds them by
// contract name when a model is loaded, after mlContext.ComponentCatalog.RegisterAssembly(typeof(RetinaNetTransformer).Assembly)
// (RetinaNetCatalog.RegisterRetinaNet). They and their row types are public because ML.NET binds their properties by
// reflection; they are not meant to be used directly.
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
            throw new InvalidDataException($"Image '{path}' cannot be scored: {problem}. Replace or remove the file "
                + $"(Microsoft.ML.RetinaNet.Datasets.ImageFiles.Problem checks files before scoring).");
        output.rn_image_sizes = new float[] { image.Height, image.Width };
    }

    /// <inheritdoc />
    public override Action<ImageSizeInput, ImageSizeOutput> GetMapping() => Map;
}
