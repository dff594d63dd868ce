namespace OrleansShards.Tests.Silo;

/// <summary>/dashboard: the Orleans Dashboard (Microsoft.Orleans.Dashboard) mapped by the silo.</summary>
[Collection(SiloCollection.Name)]
public sealed class DashboardTests(SiloFixture silo)
{
    [Fact]
    public async Task Dashboard_serves_its_page_and_the_cluster_it_sees()
    {
        var client = silo.CreateClient();
        using var page = await client.GetAsync("/dashboard/");
        Assert.True(page.IsSuccessStatusCode, $"/dashboard/: {(int)page.StatusCode}");
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        using var cluster = await client.GetAsync("/dashboard/ClusterStats");
        var text = await cluster.Content.ReadAsStringAsync();
        Assert.True(cluster.IsSuccessStatusCode, $"/dashboard/ClusterStats: {(int)cluster.StatusCode} {text}");
        Assert.StartsWith("application/json", cluster.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
    }
}
