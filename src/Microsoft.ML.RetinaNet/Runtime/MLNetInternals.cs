using System.Reflection;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.RetinaNet.Runtime;

/// <summary>
/// The few things ML.NET 5.0.1 keeps internal that a trainer from another assembly needs: the environment behind a
/// catalog, <c>GpuDeviceId</c>/<c>FallbackToCpu</c>, and whether <c>CancelExecution</c> was called. Each is read by
/// reflection here, in one place, and pinned by tests so an ML.NET upgrade that moves them fails loudly.
/// </summary>
internal static class MLNetInternals
{
    private const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    /// <summary>The environment of an ML.NET catalog (<c>IInternalCatalog.Environment</c>, implemented explicitly).</summary>
    public static IHostEnvironment Environment(object catalog)
    {
        for (var type = catalog.GetType(); type != null; type = type.BaseType)
        {
            foreach (var property in type.GetProperties(Any | BindingFlags.DeclaredOnly))
                if ((property.Name == "Environment" || property.Name.EndsWith(".Environment", StringComparison.Ordinal))
                    && property.GetValue(catalog) is IHostEnvironment env)
                    return env;
        }
        throw new InvalidOperationException($"Could not find the ML.NET environment of {catalog.GetType().Name}; this Microsoft.ML version is not "
            + $"supported.");
    }

    /// <summary><c>MLContext.GpuDeviceId</c> and <c>FallbackToCpu</c> as the environment holds them (null, false when absent).</summary>
    public static (int? GpuDeviceId, bool FallbackToCpu) GpuSettings(IHostEnvironment env)
    {
        if (env is MLContext context)
            return (context.GpuDeviceId, context.FallbackToCpu);
        var gpu = FindProperty(env, "GpuDeviceId");
        var fallback = FindProperty(env, "FallbackToCpu");
        return ((int?)gpu?.GetValue(env), fallback?.GetValue(env) is true);
    }

    /// <summary>Whether <c>MLContext.CancelExecution()</c> (internal in ML.NET 5.0.1) was called on this environment.</summary>
    public static Func<bool> CancellationProbe(IHostEnvironment env)
    {
        object target = env is MLContext ? typeof(MLContext).GetField("_env", Any)?.GetValue(env) ?? env : env;
        var property = FindProperty(target, "IsCanceled");
        return property == null ? () => false : () => property.GetValue(target) is true;
    }

    /// <summary>Calls ML.NET's internal <c>MLContext.CancelExecution()</c> (what AutoML-style callers do).</summary>
    public static void CancelExecution(MLContext context) =>
        (typeof(MLContext).GetMethod("CancelExecution", Any) ?? throw new MissingMethodException(nameof(MLContext),
            "CancelExecution")).Invoke(context, null);

    private static PropertyInfo? FindProperty(object target, string name)
    {
        foreach (var type in new[] { target.GetType() }.Concat(target.GetType().GetInterfaces()))
        {
            var p = type.GetProperty(name, Any);
            if (p != null) return p;
        }
        for (var type = target.GetType().BaseType; type != null; type = type.BaseType)
        {
            var p = type.GetProperty(name, Any);
            if (p != null) return p;
        }
        return null;
    }
}
