using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Caching;

/// <summary>Validates <see cref="ShardCacheOptions"/> at start: generated from its data annotations and <see cref="ShardCacheOptions.Validate"/>.</summary>
[OptionsValidator]
internal sealed partial class ShardCacheOptionsValidator : IValidateOptions<ShardCacheOptions>;
