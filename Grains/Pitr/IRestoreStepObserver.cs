namespace OrleansShards.Grains.Pitr;

/// <summary>
/// Called after each durable step of a restore. Fault injection for crash tests (a test host kills its
/// own process at a chosen step); not registered in production.
/// </summary>
internal interface IRestoreStepObserver
{
    void OnStep(RestoreStep step);
}
