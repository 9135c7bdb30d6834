namespace Microsoft.ML.RetinaNet;
/// <summary>x</summary>
public static class Placeholder { }
