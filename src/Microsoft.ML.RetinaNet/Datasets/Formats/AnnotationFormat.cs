namespace Microsoft.ML.RetinaNet.Datasets.Formats;

/// <summary>The annotation formats the readers understand.</summary>
public enum AnnotationFormat
{
    /// <summary>COCO JSON: the annotation path is the .json file.</summary>
    Coco,

    /// <summary>Pascal VOC: the annotation path is a folder of .xml files.</summary>
    Voc,

    /// <summary>CSV <c>path,x1,y1,x2,y2,class</c>: the annotation path is the .csv file (an optional classes file beside it as
    /// classes.csv).</summary>
    Csv,

    /// <summary>YOLO txt: the annotation path is the labels folder, with the class names in classes.txt (or names.txt) inside or beside it.</summary>
    Yolo,
}
