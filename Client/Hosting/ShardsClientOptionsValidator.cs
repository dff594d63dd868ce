using Microsoft.Extensions.Options;

namespace OrleansShards.Client;

/// <summary>
/// Validates <see cref="ShardsClientOptions"/> (at first use through <c>AddShardsClient</c>, and in
/// <see cref="ShardsClientOptions.Validate()"/>): generated from its data annotations and its <c>IValidatableObject.Validate</c>.
/// </summary>
[OptionsValidator]
internal sealed partial class ShardsClientOptionsValidator : IValidateOptions<ShardsClientOptions>;
