using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Hosting;

/// <summary>Validates <see cref="TableShardOptions"/> at start: generated from its data annotations and <see cref="TableShardOptions.Validate"/>.</summary>
[OptionsValidator]
internal sealed partial class TableShardOptionsValidator : IValidateOptions<TableShardOptions>;
