using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.RetinaNet.Data;

/// <summary>Checks the detection column contract on a schema and reads the class names from the label keys.</summary>
internal static class DetectionSchema
{
    /// <summary>ML.NET's annotation kind holding the names of key values.</summary>
    public const string KeyValuesKind = "KeyValues";

    public static DataViewSchema.Column ImageColumn(DataViewSchema schema, string name, string dataName = "training data")
    {
        var column = Require(schema, name, "an image (MLImage) column from mlContext.Transforms.LoadImages", dataName);
        if (column.Type is not ImageDataViewType)
            throw new ArgumentException($"Column '{name}' of the {dataName} must be an image (MLImage, from LoadImages) but is {column.Type}.",
                nameof(schema));
        return column;
    }

    public static DataViewSchema.Column LabelColumn(DataViewSchema schema, string name, string dataName = "training data")
    {
        var column = Require(schema, name, "a vector of keys, e.g. from mlContext.Transforms.Conversion.MapValueToKey", dataName);
        if (column.Type is not VectorDataViewType { ItemType: KeyDataViewType key } || key.RawType != typeof(uint))
            throw new ArgumentException($"Column '{name}' of the {dataName} must be a vector of UInt32 keys (one class per object; use "
                + $"mlContext.Transforms.Conversion.MapValueToKey) but is {column.Type}.", nameof(schema));
        if (key.Count == 0 || key.Count > int.MaxValue)
            throw new ArgumentException($"Column '{name}' of the {dataName} has keys of unknown count; map the labels with MapValueToKey so that "
                + $"the classes are known.", nameof(schema));
        return column;
    }

    public static DataViewSchema.Column BoxColumn(DataViewSchema schema, string name, string dataName = "training data")
    {
        var column = Require(schema, name, "a vector of Single, x0 y0 x1 y1 per object", dataName);
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType number } || number.RawType != typeof(float))
            throw new ArgumentException($"Column '{name}' of the {dataName} must be a vector of Single (x0, y0, x1, y1 per object) but "
                + $"is {column.Type}.", nameof(schema));
        return column;
    }

    public static DataViewSchema.Column ScoreColumn(DataViewSchema schema, string name, string dataName = "scored data")
    {
        var column = Require(schema, name, "a vector of Single, one score per detection", dataName);
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType number } || number.RawType != typeof(float))
            throw new ArgumentException($"Column '{name}' of the {dataName} must be a vector of Single but is {column.Type}.", nameof(schema));
        return column;
    }

    /// <summary>Class names from the key values of a key-vector column, or "1".."K" when it has none.</summary>
    public static string[] ClassNames(DataViewSchema.Column labelColumn)
    {
        var key = (KeyDataViewType)((VectorDataViewType)labelColumn.Type).ItemType;
        int count = (int)key.Count;
        var names = Enumerable.Range(1, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var keyValues = labelColumn.Annotations.Schema.GetColumnOrNull(KeyValuesKind);
        if (keyValues is { Type: VectorDataViewType { ItemType: TextDataViewType } })
        {
            VBuffer<ReadOnlyMemory<char>> values = default;
            labelColumn.Annotations.GetValue(KeyValuesKind, ref values);
            var dense = values.DenseValues().ToArray();
            for (int i = 0; i < Math.Min(count, dense.Length); i++)
                names[i] = dense[i].ToString();
        }
        return names;
    }

    /// <summary>
    /// The text column that names each row's image, to quote in messages: the visible column called "ImagePath" if there
    /// is one, else the first visible text column whose name contains "path" or "file"; null when there is none.
    /// </summary>
    public static DataViewSchema.Column? SourceColumn(DataViewSchema schema, string imageColumn)
    {
        var text = schema.Where(c => !c.IsHidden && c.Type is TextDataViewType && c.Name != imageColumn).ToList();
        return text.Where(c => c.Name == "ImagePath").Select(c => (DataViewSchema.Column?)c).FirstOrDefault()
            ?? text.Where(c => c.Name.Contains("path", StringComparison.OrdinalIgnoreCase) || c.Name.Contains("file",
                StringComparison.OrdinalIgnoreCase))
                .Select(c => (DataViewSchema.Column?)c).FirstOrDefault();
    }

    private static DataViewSchema.Column Require(DataViewSchema schema, string name, string what, string dataName)
    {
        if (string.IsNullOrEmpty(name))
            throw new ArgumentException($"A column name is empty; give the name of {what}.", nameof(name));
        var column = schema.GetColumnOrNull(name);
        if (column is null)
            throw new ArgumentException($"The {dataName} has no column '{name}' ({what}). Its "
                + $"columns: {string.Join(", ", schema.Select(c => $"{c.Name} ({c.Type})"))}.", nameof(schema));
        return column.Value;
    }
}
