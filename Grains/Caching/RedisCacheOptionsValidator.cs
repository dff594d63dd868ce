using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Caching;

/// <summary>Validates <see cref="RedisCacheOptions"/> at start: generated from its data annotations.</summary>
[OptionsValidator]
internal sealed partial class RedisCacheOptionsValidator : IValidateOptions<RedisCacheOptions>;
