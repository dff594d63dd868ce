using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Pitr;

/// <summary>Validates <see cref="PitrOptions"/> at start: generated from its data annotations.</summary>
[OptionsValidator]
internal sealed partial class PitrOptionsValidator : IValidateOptions<PitrOptions>;
