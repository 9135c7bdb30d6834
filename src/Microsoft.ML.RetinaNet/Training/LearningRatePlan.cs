namespace Microsoft.ML.RetinaNet.Training;

/// <summary>Learning rate at each step: linear warm-up, then constant, step or cosine decay.</summary>
internal sealed class LearningRatePlan
{
    private readonly double _baseRate, _warmupFactor, _gamma;
    private readonly int _warmupSteps, _stepsPerEpoch, _totalSteps;
    private readonly LearningRateSchedule _schedule;
    private readonly int[] _stepEpochs;

    public LearningRatePlan(double baseRate, int warmupSteps, double warmupFactor, LearningRateSchedule schedule,
        int[] stepEpochs, double gamma, int stepsPerEpoch, int epochs)
    {
        (_baseRate, _warmupSteps, _warmupFactor, _schedule, _stepEpochs, _gamma) = (baseRate, warmupSteps, warmupFactor, schedule, stepEpochs, gamma);
        _stepsPerEpoch = stepsPerEpoch;
        _totalSteps = stepsPerEpoch * epochs;
    }

    /// <summary>Rate for the 0-based global step.</summary>
    public double At(int step)
    {
        double rate = _schedule switch
        {
            LearningRateSchedule.Step => _baseRate * Math.Pow(_gamma, _stepEpochs.Count(e => step >= e * _stepsPerEpoch)),
            LearningRateSchedule.Cosine => _totalSteps <= _warmupSteps ? _baseRate
                : _baseRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Max(0, step - _warmupSteps) / (_totalSteps - _warmupSteps))),
            _ => _baseRate,
        };
        if (step < _warmupSteps)
            rate *= _warmupFactor + (1 - _warmupFactor) * step / _warmupSteps;
        return rate;
    }
}
