using static TorchSharp.torch;

namespace Microsoft.ML.RetinaNet.Detection;

/// <summary>
/// Anchors for every cell of P3–P7, in the order the heads emit predictions (level, row, column, anchor),
/// computed as torchvision's <c>AnchorGenerator</c>: ratio-major base anchors rounded to whole pixels,
/// centred on the top-left corner of each cell. The cell spacing on each axis is torchvision's
/// <c>image_size // feature_size</c> (<see cref="Strides"/>), which equals the nominal 8…128 only when the input size is a
/// multiple of 128 (at 480² P6/P7 sit every 60/120 pixels). A finer anchor stride (<see cref="AnchorOptions.Strides"/>,
/// m = feature stride / anchor stride) puts m × m centres in every cell, at offsets (j·spacing_x/m, i·spacing_y/m), and a
/// cell's anchors come centre by centre (row-major), each with its A shapes. Results are cached per input and feature-map
/// layout.
/// </summary>
internal sealed class AnchorGenerator : IDisposable
{
    private readonly AnchorOptions _options;
    private readonly Tensor[] _baseAnchors;
    private readonly Dictionary<string, Tensor> _cache = new();

    public AnchorGenerator(AnchorOptions options)
    {
        options.Validate();
        _options = options.Clone();
        _baseAnchors = Enumerable.Range(0, AnchorOptions.LevelCount).Select(BaseAnchors).ToArray();
    }

    /// <summary>Anchors per feature cell at <paramref name="level"/> (0 = P3): centres per cell × shapes.</summary>
    public int LevelAnchorsPerLocation(int level) => _options.LevelAnchorsPerLocation(level);

    /// <summary>Anchor sizes size × scale for one level, as used (rounded down if asked).</summary>
    public float[] LevelSizes(int level) => AnchorShapes.Sizes(_options, level);

    /// <summary>(A, 4) anchors centred on the origin for one level: for each ratio, for each scale.</summary>
    private Tensor BaseAnchors(int level) => tensor(AnchorShapes.BaseAnchors(_options, level), new long[] { _options.AnchorsPerLocation, 4 });

    /// <summary>
    /// torchvision's anchor spacing per level and axis: the (padded) input's height and width divided, rounding down, by
    /// the feature map's.
    /// </summary>
    public static (long Y, long X)[] Strides((long Height, long Width)[] levelSizes, (long Height, long Width) imageSize) =>
        levelSizes.Select(s => (imageSize.Height / s.Height, imageSize.Width / s.Width)).ToArray();

    /// <summary>(ΣHWA, 4) anchors for an input of <paramref name="imageSize"/> (the batch tensor's H, W) and feature maps of the given
    /// sizes, on <paramref name="device"/>.</summary>
    public Tensor Generate((long Height, long Width)[] levelSizes, (long Height, long Width) imageSize, Device device)
    {
        if (levelSizes.Length != AnchorOptions.LevelCount)
            throw new ArgumentException($"Expected {AnchorOptions.LevelCount} feature levels, got {levelSizes.Length}.", nameof(levelSizes));
        var strides = Strides(levelSizes, imageSize);
        string key = device + ":" + imageSize.Height + "x" + imageSize.Width + ":" + string.Join(",", levelSizes.Select(s
            => $"{s.Height}x{s.Width}"));
        lock (_cache)
        {
            if (_cache.TryGetValue(key, out var cached))
                return cached;
            using var scope = NewDisposeScope();
            var levels = new Tensor[levelSizes.Length];
            for (int l = 0; l < levelSizes.Length; l++)
            {
                var (h, w) = levelSizes[l];
                var shiftsX = arange(0, w, dtype: ScalarType.Int64) * strides[l].X;
                var shiftsY = arange(0, h, dtype: ScalarType.Int64) * strides[l].Y;
                var grid = meshgrid(new[] { shiftsY, shiftsX }, indexing: "ij");
                var sy = grid[0].reshape(-1);
                var sx = grid[1].reshape(-1);
                // (H*W, 1, 4) + (1, C*A, 4) -> (H*W*C*A, 4)
                var shifts = stack(new[] { sx, sy, sx, sy }, 1).to(ScalarType.Float32);
                levels[l] = (shifts.view(-1, 1, 4) + CellAnchors(l, strides[l]).view(1, -1, 4)).reshape(-1, 4);
            }
            var anchors = cat(levels, 0).to(device).DetachFromDisposeScope();
            _cache[key] = anchors;
            return anchors;
        }
    }

    /// <summary>
    /// (C·A, 4) anchors of one cell relative to its top-left corner: the base anchors themselves when the level has one
    /// centre per cell (C = 1, torchvision), else for each of the m × m centres (row-major) its offset plus the A shapes.
    /// </summary>
    private Tensor CellAnchors(int level, (long Y, long X) spacing)
    {
        int m = _options.CentresPerCellAxis(level);
        if (m == 1)
            return _baseAnchors[level];
        var offsets = new float[m * m * 4];
        for (int i = 0, k = 0; i < m; i++)
            for (int j = 0; j < m; j++, k += 4)
            {
                float x = (float)((double)j * spacing.X / m), y = (float)((double)i * spacing.Y / m);
                (offsets[k], offsets[k + 1], offsets[k + 2], offsets[k + 3]) = (x, y, x, y);
            }
        // (C, 1, 4) + (1, A, 4) -> (C*A, 4)
        return (tensor(offsets, new long[] { m * m, 1, 4 }) + _baseAnchors[level].view(1, -1, 4)).reshape(-1, 4);
    }

    /// <summary>Anchors per level for the given layout (to split level-concatenated outputs).</summary>
    public long[] CountsPerLevel((long Height, long Width)[] levelSizes) =>
        levelSizes.Select((s, l) => s.Height * s.Width * LevelAnchorsPerLocation(l)).ToArray();

    public void Dispose()
    {
        foreach (var t in _baseAnchors) t.Dispose();
        lock (_cache)
        {
            foreach (var t in _cache.Values) t.Dispose();
            _cache.Clear();
        }
    }
}
