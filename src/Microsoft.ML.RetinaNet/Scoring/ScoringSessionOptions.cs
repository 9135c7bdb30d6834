using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.RetinaNet.Runtime;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Onnx;

namespace Microsoft.ML.RetinaNet.Scoring;

/// <summary>
/// The ONNX Runtime session options of every RetinaNet scoring session: the fitted transformer's, and a model's loaded
/// from model.zip. ML.NET saves an ApplyOnnxModel step without its thread counts, so a loaded model would otherwise run
/// with ONNX Runtime's default, its count of physical cores — 1 on VMs whose two vCPUs are one core's two threads, about
/// half the speed. ML.NET's loader takes session options from the MLContext (<c>SetOnnxSessionOption</c>); RetinaNet
/// sets them there when it registers (<c>RegisterRetinaNet</c>, <c>LoadRetinaNet</c>) unless the user already did, and
/// on the fitted chain's own context, so both paths build their sessions here: every core the process may use, the
/// graph optimisations ML.NET uses, and CUDA when the context's <c>GpuDeviceId</c> asks for it (with ML.NET's
/// <c>FallbackToCpu</c> rule).
/// </summary>
internal static class ScoringSessionOptions
{
    [ThreadStatic]
    private static int _sessionsCreatedOnThisThread;

    /// <summary>Intra-op threads of a scoring session: every core the process may use.</summary>
    public static int IntraOpThreads => Environment.ProcessorCount;

    /// <summary>How many scoring sessions these options have built on the calling thread (ML.NET builds a session while it
    /// fits or loads the step, on the caller's thread); for tests.</summary>
    public static int SessionsCreatedOnThisThread => _sessionsCreatedOnThisThread;

    /// <summary>The options last built on the calling thread, as (intra-op threads, CUDA); for tests.</summary>
    [field: ThreadStatic]
    public static (int IntraOpThreads, bool Cuda) LastOnThisThread { get; private set; }

    /// <summary>Sets RetinaNet's session options on <paramref name="env"/> unless its owner set some already.</summary>
    public static void ApplyTo(IHostEnvironment env)
    {
        try
        {
            if (env.GetOnnxSessionOption() is not null)
                return;
            env.SetOnnxSessionOption(For(() => MLNetInternals.GpuSettings(env)));
        }
        catch (ArgumentException)
        {
            // not an ML.NET environment that carries options (ML.NET says "No Onnx Session Options"): its defaults apply
        }
    }

    /// <summary>Options whose sessions use the GPU settings <paramref name="gpu"/> returns when each session is made.</summary>
    public static OnnxSessionOptions For(Func<(int? GpuDeviceId, bool FallbackToCpu)> gpu) => new()
    {
        IntraOpNumThreads = IntraOpThreads,
        CreateSessionOptions = () => Create(gpu()),
    };

    private static SessionOptions Create((int? GpuDeviceId, bool FallbackToCpu) gpu)
    {
        SessionOptions options;
        bool cuda = false;
        if (gpu.GpuDeviceId is int device)
        {
            try
            {
                options = SessionOptions.MakeSessionOptionWithCudaProvider(device);
                cuda = true;
            }
            catch (OnnxRuntimeException) when (gpu.FallbackToCpu)
            {
                options = new SessionOptions();
            }
        }
        else
        {
            options = new SessionOptions();
        }
        options.IntraOpNumThreads = IntraOpThreads;
        options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
        options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
        LastOnThisThread = (options.IntraOpNumThreads, cuda);
        _sessionsCreatedOnThisThread++;
        return options;
    }
}
