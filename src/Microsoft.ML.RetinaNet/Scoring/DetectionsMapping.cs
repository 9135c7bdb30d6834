using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.RetinaNet.Scoring;

// The second custom mapping of the saved scoring chain; ImageSizeMapping.cs says how ML.NET finds them and why they are public.
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
