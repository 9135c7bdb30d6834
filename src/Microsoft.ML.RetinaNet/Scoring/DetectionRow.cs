using Microsoft.ML.Data;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>
/// A row of the scored data: the input row's columns, and the three output columns computed from its image on
/// first request and cached for the row's position.
/// </summary>
internal sealed class DetectionRow : DataViewRow
{
    private readonly DataViewRow _input;
    private readonly DetectorModel _model;
    private readonly int _inputCount;
    private readonly DataViewSchema _schema;
    private readonly ValueGetter<MLImage>? _getImage;
    private MLImage? _image;
    private long _cachedPosition = -1;
    private Prediction _cached = Prediction.Empty;

    public DetectionRow(DataViewRow input, DataViewSchema outputSchema, DetectorModel model, DataViewSchema.Column? imageColumn)
    {
        _input = input;
        _model = model;
        _schema = outputSchema;
        _inputCount = input.Schema.Count;
        if (imageColumn is { } image)
            _getImage = input.GetGetter<MLImage>(image);
    }

    public override DataViewSchema Schema => _schema;
    public override long Position => _input.Position;
    public override long Batch => _input.Batch;
    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) =>
        column.Index < _inputCount ? _input.IsColumnActive(_input.Schema[column.Index]) : _getImage != null;

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (column.Index < _inputCount)
            return _input.GetGetter<TValue>(_input.Schema[column.Index]);
        if (_getImage is null)
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made.");
        Delegate getter = (column.Index - _inputCount) switch
        {
            0 => (ValueGetter<VBuffer<uint>>)((ref VBuffer<uint> dst) => Copy(Current().Keys, ref dst)),
            1 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Copy(Current().Scores, ref dst)),
            _ => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Copy(Current().Boxes, ref dst)),
        };
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
    }

    private Prediction Current()
    {
        if (_cachedPosition != _input.Position)
        {
            _getImage!(ref _image!);
            _cached = _image is null ? Prediction.Empty : _model.Detect(_image);
            _cachedPosition = _input.Position;
        }
        return _cached;
    }

    private static void Copy<T>(T[] values, ref VBuffer<T> dst)
    {
        var editor = VBufferEditor.Create(ref dst, values.Length);
        values.AsSpan().CopyTo(editor.Values);
        dst = editor.Commit();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _image?.Dispose();
            _image = null;
        }
        base.Dispose(disposing);
    }
}

/// <summary>A cursor over the scored data: the input cursor, with the output columns of <see cref="DetectionRow"/>.</summary>
internal sealed class DetectionCursor : DataViewRowCursor
{
    private readonly DataViewRowCursor _input;
    private readonly DetectionRow _row;

    public DetectionCursor(DataViewRowCursor input, DataViewSchema outputSchema, DetectorModel model, DataViewSchema.Column? imageColumn)
    {
        _input = input;
        _row = new DetectionRow(input, outputSchema, model, imageColumn);
    }

    public override DataViewSchema Schema => _row.Schema;
    public override long Position => _input.Position;
    public override long Batch => _input.Batch;
    public override bool MoveNext() => _input.MoveNext();
    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
    public override bool IsColumnActive(DataViewSchema.Column column) => _row.IsColumnActive(column);
    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _row.GetGetter<TValue>(column);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _row.Dispose();
            _input.Dispose();
        }
        base.Dispose(disposing);
    }
}
