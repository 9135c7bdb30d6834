using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.RetinaNet.Scoring;

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
