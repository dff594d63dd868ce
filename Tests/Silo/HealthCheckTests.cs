namespace OrleansShards.Tests.Silo;

[Collection(SiloCollection.Name)]
public sealed class HealthCheckTests(SiloFixture silo)
{
    [Fact]
    public async Task Health_reports_ok_and_a_writable_data_directory()
    {
        var client = silo.CreateTenantClient("health");
        await client.PostOkAsync("/v1/tables/h/ddl", """{"query":"CREATE TABLE IF NOT EXISTS h (id INTEGER PRIMARY KEY)"}""");

        var health = await client.GetOkAsync("/health");
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.True(health.GetProperty("dataDirectoryWritable").GetBoolean());
        Assert.True(health.GetProperty("activeShards").GetInt32() >= 1);
        // The shard this test just used is a live activation.
        Assert.True(health.GetProperty("activations").GetInt32() >= 1);
        // The probe file is gone again.
        Assert.Empty(Directory.GetFiles(Path.Combine(silo.DataDirectory, ".silo"), "health-*"));
    }
}
