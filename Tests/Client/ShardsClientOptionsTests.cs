using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OrleansShards.Client;

namespace OrleansShards.Tests.Client;

public sealed class ShardsClientOptionsTests
{
    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var o = new ShardsClientOptions();

        Assert.Equal([new Uri("http://127.0.0.1:5080")], o.Endpoints);
        Assert.Null(o.ApiKey);
        Assert.Equal(TimeSpan.FromSeconds(30), o.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(10), o.OperationTimeout);
        Assert.Equal(3, o.MaxRetries);
        Assert.True(o.AddIdempotencyKeys);
        Assert.Equal(new Version(2, 0), o.HttpVersion);
        Assert.Equal(HttpVersionPolicy.RequestVersionOrLower, o.HttpVersionPolicy);
    }

    [Theory]
    [InlineData("Endpoints")]
    [InlineData("Timeout")]
    [InlineData("OperationTimeout")]
    [InlineData("MaxRetries")]
    [InlineData("ApiKey")]
    public void Validate_names_the_invalid_option(string option)
    {
        var o = new ShardsClientOptions();
        switch (option)
        {
            case "Endpoints": o.Endpoints = [new Uri("ftp://x/")]; break;
            case "Timeout": o.Timeout = TimeSpan.Zero; break;
            case "OperationTimeout": o.OperationTimeout = TimeSpan.FromSeconds(-1); break;
            case "MaxRetries": o.MaxRetries = -1; break;
            default: o.ApiKey = "has space"; break;
        }

        var error = Assert.Throws<ArgumentException>(o.Validate);

        Assert.Contains("ShardsClientOptions." + option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddShardsClient_registers_the_client_and_validates_on_first_use()
    {
        var services = new ServiceCollection();
        services.AddShardsClient(o => o.MaxRetries = -5);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<ShardsClient>());

        Assert.Contains("MaxRetries", error.Message, StringComparison.Ordinal);
    }
}
