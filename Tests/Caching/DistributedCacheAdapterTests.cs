using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

public sealed class DistributedCacheAdapterTests
{
    [Fact]
    public async Task SetAsync_then_GetAsync_roundtrips_and_expires_when_absolute_expiration_passes()
    {
        var time = new FakeTimeProvider();
        await using var host = await CacheTestHost.StartAsync(time: time);
        var cache = host.Services.GetRequiredService<IDistributedCache>();
        await cache.SetAsync("app:key", [1, 2, 3], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(10) });
        Assert.Equal([1, 2, 3], await cache.GetAsync("app:key"));
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(await cache.GetAsync("app:key"));
        await cache.SetStringAsync("app:s", "v");
        Assert.Equal("v", await cache.GetStringAsync("app:s"));
        await cache.RemoveAsync("app:s");
        Assert.Null(await cache.GetStringAsync("app:s"));
    }
}
