using Microsoft.ML.Data;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>
/// The scored data, computed lazily as rows are read, and the row mapper that PredictionEngine uses. Both read
/// the image column only when an output column is requested.
/// </summary>
internal sealed class DetectionDataView : IDataView, IRowToRowMapper
{
    private readonly IDataView? _input;
    private readonly DetectorModel _model;
    private readonly DataViewSchema.Column _imageColumn;

    public DetectionDataView(IDataView? input, DataViewSchema inputSchema, DetectorModel model, OutputColumns outputs, string imageColumnName)
    {
        _input = input;
        InputSchema = inputSchema;
        _model = model;
        _imageColumn = Data.DetectionSchema.ImageColumn(inputSchema, imageColumnName, "data to score");
        OutputSchema = outputs.AppendTo(inputSchema);
    }

    public DataViewSchema InputSchema { get; }
    public DataViewSchema OutputSchema { get; }
    public DataViewSchema Schema => OutputSchema;
    public bool CanShuffle => _input!.CanShuffle;
    public long? GetRowCount() => _input!.GetRowCount();

    private bool AnyOutput(IEnumerable<DataViewSchema.Column> columns) => columns.Any(c => c.Index >= InputSchema.Count);

    /// <summary>Input columns needed to produce <paramref name="dependingColumns"/>.</summary>
    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var list = dependingColumns.ToList();
        var needed = list.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
        if (AnyOutput(list) && needed.All(c => c.Index != _imageColumn.Index))
            needed.Add(_imageColumn);
        return needed;
    }

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var list = columnsNeeded.ToList();
        var input = _input!.GetRowCursor(GetDependencies(list), rand);
        return new DetectionCursor(input, OutputSchema, _model, AnyOutput(list) ? _imageColumn : null);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new DetectionRow(input, OutputSchema, _model, AnyOutput(activeColumns) ? _imageColumn : null);
}
