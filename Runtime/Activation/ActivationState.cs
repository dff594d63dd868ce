namespace OrleansShards.Runtime.Activation;

internal enum ActivationState
{
    Activating,
    Valid,
    Deactivating,
    Invalid,
}
