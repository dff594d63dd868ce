using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Sharding;
using OrleansShards.Tests.Infrastructure;
using static OrleansShards.Tests.Sharding.ShardingTestData;

namespace OrleansShards.Tests.Operations;

/// <summary>
/// Issue 15 item 8: restore, shard, unshard and rebalance get an operation id whose record (an Orleans grain, readable
/// from any silo) tells kind, state, phase and progress while the operation runs and after it ended.
/// </summary>
public sealed class OperationGrainTests
{
    [Fact]
    public async Task Record_goes_from_running_to_completed_and_ignores_reports_after_the_end()
    {
        await using var host = await ShardTestHost.StartAsync();
        var grain = host.Grains.GetOperation("acme", "op-lifecycle");

        var started = await grain.StartAsync(new OperationStart(OperationKinds.Shard, "acme", "acme:items", 10));
        await grain.ReportAsync(new OperationProgress("copy", 4, 10));
        var running = await grain.GetAsync();
        var completed = await grain.CompleteAsync();
        await grain.ReportAsync(new OperationProgress("copy", 5, 10));
        var after = await grain.GetAsync();

        Assert.Equal(OperationStates.Running, started.State);
        Assert.Equal(("copy", 4L, 10L, OperationStates.Running), (running!.Phase, running.Done, running.Total, running.State));
        Assert.Equal(OperationStates.Completed, completed.State);
        Assert.NotNull(completed.EndedAt);
        Assert.Equal(completed, after);
        var reused = await Assert.ThrowsAsync<ShardException>(() => grain.StartAsync(new OperationStart(OperationKinds.Shard, "acme", "acme:items")));
        Assert.Equal(ShardErrorCode.InvalidArgument, reused.Code);
        Assert.Null(await host.Grains.GetOperation("acme", "never-started").GetAsync());

        // Ids are scoped by tenant: another tenant's (or the operator's) same id is another record, and a record only takes
        // an operation of its own tenant.
        Assert.Null(await host.Grains.GetOperation("other", "op-lifecycle").GetAsync());
        Assert.Null(await host.Grains.GetOperation(tenant: null, "op-lifecycle").GetAsync());
        var theirs = await host.Grains.GetOperation("other", "op-lifecycle").StartAsync(new OperationStart(OperationKinds.Restore, "other", "other:notes"));
        Assert.Equal(("op-lifecycle", "other", OperationKinds.Restore), (theirs.Id, theirs.Tenant, theirs.Kind));
        Assert.Equal(OperationKinds.Shard, (await grain.GetAsync())!.Kind);
        var misfiled = await Assert.ThrowsAsync<ShardException>(() =>
            host.Grains.GetOperation("acme", "misfiled").StartAsync(new OperationStart(OperationKinds.Shard, "other", "other:items")));
        Assert.Equal(ShardErrorCode.InvalidArgument, misfiled.Code);
        Assert.Equal("/op-1", OperationIds.GrainKey(null, "op-1"));
        Assert.Equal(("acme", "op-1"), OperationIds.ParseGrainKey(OperationIds.GrainKey("acme", "op-1")));
        Assert.Equal(ShardErrorCode.InvalidArgument, Assert.Throws<ShardException>(() => OperationIds.GrainKey("a:b", "op-1")).Code);
    }

    [Fact]
    public async Task ShardAsync_reports_copy_progress_while_running_and_the_answer_names_the_completed_record()
    {
        await using var host = await ShardTestHost.StartAsync();
        await CreateItemsAsync(host, 1000);
        OperationInfo? duringCatchUp = null;
        host.Faults().OnStep = step =>
        {
            if (step == "catchup" && duringCatchUp is null)
            {
                // The hook runs inside the registry's turn; the record lives in another grain. The call is made from the
                // thread pool: a grain call made inside a turn that then blocks on it never completes once the silo has
                // an outgoing call filter (its continuation is queued to the blocked turn's scheduler).
                duringCatchUp = Task.Run(() => host.Grains.GetOperation(Tenant, "shard-progress").GetAsync()).GetAwaiter().GetResult();
            }
        };

        var result = await host.Registry("items").ShardAsync(new ShardRequest("org", 3, OperationId: "shard-progress"));
        host.Faults().OnStep = null;
        var record = await host.Grains.GetOperation(Tenant, result.OperationId!).GetAsync();

        Assert.Equal("shard-progress", result.OperationId);
        Assert.NotNull(duringCatchUp);
        Assert.Equal((OperationStates.Running, "catchup", 1000L, 1000L), (duringCatchUp!.State, duringCatchUp.Phase, duringCatchUp.Done, duringCatchUp.Total));
        Assert.Equal((OperationKinds.Shard, "acme:items", OperationStates.Completed, 1000L, 1000L), (record!.Kind, record.Target, record.State, record.Done, record.Total));
        Assert.Equal("acme", record.Tenant);
    }

    [Fact]
    public async Task Failed_operations_keep_their_error_and_unshard_rebalance_restore_get_ids()
    {
        await using var host = await ShardTestHost.StartAsync();
        await CreateItemsAsync(host, 200);
        var notes = host.Shard(Tenant, "notes");
        await notes.DdlAsync(new DdlRequest("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)"));
        await notes.MutateAsync(new MutationRequest("INSERT INTO notes (text) VALUES ('kept')"));
        var bookmark = (await notes.GetBookmarkAsync(new BookmarkRequest())).Bookmark;

        var notSharded = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").UnshardAsync(new UnshardRequest("unshard-fails")));
        var failed = await host.Grains.GetOperation(Tenant, "unshard-fails").GetAsync();
        await host.Registry("items").ShardAsync(new ShardRequest("org", 2));
        var rebalance = await host.Registry("items").RebalanceAsync(new RebalanceRequest(TargetCount: 3));
        var unshard = await host.Registry("items").UnshardAsync(new UnshardRequest());
        await notes.MutateAsync(new MutationRequest("INSERT INTO notes (text) VALUES ('undone')"));
        var restore = await notes.RestoreAsync(new RestoreRequest(bookmark, "restore-op"));
        var restored = await host.Grains.GetOperation(Tenant, "restore-op").GetAsync();

        Assert.Equal((OperationStates.Failed, "INVALID_ARGUMENT"), (failed!.State, failed.Error!.Code));
        Assert.Equal(notSharded.Message, failed.Error.Message);
        Assert.Equal(OperationKinds.Rebalance, (await host.Grains.GetOperation(Tenant, rebalance.OperationId!).GetAsync())!.Kind);
        Assert.Equal(OperationKinds.Unshard, (await host.Grains.GetOperation(Tenant, unshard.OperationId!).GetAsync())!.Kind);
        Assert.Equal("restore-op", restore.OperationId);
        Assert.Equal((OperationKinds.Restore, OperationStates.Completed, 3L, 3L), (restored!.Kind, restored.State, restored.Done, restored.Total));
        var malformed = await Assert.ThrowsAsync<ShardException>(() => notes.RestoreAsync(new RestoreRequest(bookmark, "not/valid")));
        Assert.Equal(ShardErrorCode.InvalidArgument, malformed.Code);
    }
}
