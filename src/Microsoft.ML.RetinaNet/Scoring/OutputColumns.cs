using System.Reflection;
using Microsoft.ML.Data;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>Names of the three output columns, and their schema shape.</summary>
internal sealed class OutputColumns
{
    public OutputColumns(string predictedLabel, string score, string predictedBoxes)
    {
        PredictedLabel = predictedLabel;
        Score = score;
        PredictedBoxes = predictedBoxes;
    }

    public string PredictedLabel { get; }
    public string Score { get; }
    public string PredictedBoxes { get; }

    /// <summary>
    /// The input shape followed by the three output columns. ML.NET 5.0.1 keeps <c>SchemaShape.Column</c>'s
    /// constructor internal, so it is called through reflection (pinned by a test).
    /// </summary>
    public SchemaShape AppendTo(SchemaShape input)
    {
        var keyValues = NewColumn("KeyValues", SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false, null);
        var columns = input.Where(c => c.Name != PredictedLabel && c.Name != Score && c.Name != PredictedBoxes).ToList();
        columns.Add(NewColumn(PredictedLabel, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.UInt32, true,
            new SchemaShape(new[] { keyValues })));
        columns.Add(NewColumn(Score, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Single, false, null));
        columns.Add(NewColumn(PredictedBoxes, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Single, false, null));
        return new SchemaShape(columns);
    }

    private static readonly ConstructorInfo ColumnConstructor = typeof(SchemaShape.Column).GetConstructor(
        BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null,
        new[] { typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape) }, null)
        ?? throw new InvalidOperationException("This version of Microsoft.ML has no SchemaShape.Column(name, kind, type, isKey, annotations) "
            + "constructor.");

    private static SchemaShape.Column NewColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey,
        SchemaShape? annotations) =>
        (SchemaShape.Column)ColumnConstructor.Invoke(new object?[] { name, kind, itemType, isKey, annotations });
}
