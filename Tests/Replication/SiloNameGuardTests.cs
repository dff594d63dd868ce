using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Replication;

/// <summary>A silo's name is its identity: a second process cannot start under the name of a live silo.</summary>
[Collection(RedisCollection.Name)]
public sealed class SiloNameGuardTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_silo_cannot_start_with_the_name_of_a_live_silo_and_can_once_that_silo_stopped()
    {
        var name = "dupname" + Guid.NewGuid().ToString("N")[..8];
        var first = new RedisKestrelSilo(redis.Configuration, cluster: name);
        try
        {
            await first.InitializeAsync();
            var table = first.Grains.GetGrain<ITableShard>(ShardName.Format("t1", "named"));
            await table.DdlAsync(new DdlRequest("CREATE TABLE named(id INTEGER PRIMARY KEY)"));

            // Same cluster, same name, other ports (each silo picks free ones): refused while the first one lives.
            await using (var second = new RedisKestrelSilo(redis.Configuration, cluster: name))
            {
                var refused = await Assert.ThrowsAnyAsync<Exception>(second.InitializeAsync);
                Assert.Contains($"Silo name '{name}' is in use by a live silo", Flatten(refused), StringComparison.Ordinal);
            }

            // The first silo still serves its table.
            await table.MutateAsync(new MutationRequest("INSERT INTO named(id) VALUES (1)"));
        }
        finally
        {
            await first.DisposeAsync();
        }

        // Stopped: the name is free again.
        await using var third = new RedisKestrelSilo(redis.Configuration, cluster: name);
        await third.InitializeAsync();
        var again = third.Grains.GetGrain<ITableShard>(ShardName.Format("t1", "other"));
        await again.DdlAsync(new DdlRequest("CREATE TABLE other(id INTEGER PRIMARY KEY)"));
    }

    private static string Flatten(Exception exception)
    {
        var messages = new List<string>();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(Flatten));
            }
        }

        return string.Join(" | ", messages);
    }
}
