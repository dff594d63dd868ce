using OrleansShards.Silo.Hosting;

namespace OrleansShards.Tests.Silo;

public sealed class LoopbackGuardTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://127.1.2.3:80", true)]
    [InlineData("http://localhost:5000", true)]
    [InlineData("https://LOCALHOST:5001/", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("http://unix:/tmp/silo.sock", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://*:5080", false)]
    [InlineData("http://+:5080", false)]
    [InlineData("http://[::]:5080", false)]
    [InlineData("http://10.0.0.5:5080", false)]
    [InlineData("http://example.com:80", false)]
    public void IsLoopback_accepts_only_local_addresses(string url, bool expected) =>
        Assert.Equal(expected, LoopbackGuard.IsLoopback(url));

    [Fact]
    public void NonLoopback_splits_url_lists_and_returns_the_exposed_ones() =>
        Assert.Equal(["http://*:6000"], LoopbackGuard.NonLoopback(["http://127.0.0.1:5080; http://*:6000", null]));
}
