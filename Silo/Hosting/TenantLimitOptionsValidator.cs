using Microsoft.Extensions.Options;

namespace OrleansShards.Silo.Hosting;

/// <summary>Validates <see cref="TenantLimitOptions"/> at start: generated from its data annotations and <see cref="TenantLimitOptions.Validate"/>.</summary>
[OptionsValidator]
internal sealed partial class TenantLimitOptionsValidator : IValidateOptions<TenantLimitOptions>;
