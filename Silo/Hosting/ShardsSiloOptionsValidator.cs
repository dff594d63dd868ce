using Microsoft.Extensions.Options;

namespace OrleansShards.Silo.Hosting;

/// <summary>Validates <see cref="ShardsSiloOptions"/> at start: generated from its data annotations and <see cref="ShardsSiloOptions.Validate"/>.</summary>
[OptionsValidator]
internal sealed partial class ShardsSiloOptionsValidator : IValidateOptions<ShardsSiloOptions>;
