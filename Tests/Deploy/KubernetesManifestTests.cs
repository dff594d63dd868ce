using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using OrleansShards.Tests.Docs;
using YamlDotNet.RepresentationModel;

namespace OrleansShards.Tests.Deploy;

/// <summary>
/// deploy/k8s as Kubernetes would receive it: rendered with <c>kubectl kustomize</c> (kubectl must be installed;
/// no cluster is needed or contacted), then the wiring checked — names, replicas, ports against the env values,
/// the downward-API variables, volumes, selectors against pod labels, probes, the disruption budget, RBAC and Redis'
/// append-only file. No cluster runs here, so this is what is checked of the manifests, not that a cluster forms.
/// </summary>
public sealed class KubernetesManifestTests
{
    private const string Namespace = "orleansshards";

    private static readonly Lazy<IReadOnlyList<JsonObject>> Rendered = new(Render);

    private static IReadOnlyList<JsonObject> Resources => Rendered.Value;

    private static IReadOnlyList<JsonObject> Render()
    {
        var root = ReadmeTests.RepositoryRoot();
        var start = new ProcessStartInfo("kubectl", ["kustomize", Path.Combine(root, "deploy", "k8s")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException("kubectl is not installed: these tests render deploy/k8s with `kubectl kustomize` (client only, no cluster).", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(60_000), "kubectl kustomize did not finish within 60 s");
            Assert.True(process.ExitCode == 0, $"kubectl kustomize failed ({process.ExitCode}): {stderr.Result}");
            var yaml = new YamlStream();
            yaml.Load(new StringReader(stdout.Result));
            return yaml.Documents.Select(d => (JsonObject)ToJson(d.RootNode)!).ToList();
        }
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(e => KeyValuePair.Create(((YamlScalarNode)e.Key).Value!, ToJson(e.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Value: null or "~" or "null", Style: YamlDotNet.Core.ScalarStyle.Plain } => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException("unexpected YAML node " + node.NodeType),
    };

    private static JsonObject Single(string kind, string name)
    {
        var matches = Resources.Where(r => S(r["kind"]) == kind && S(r["metadata"]?["name"]) == name).ToList();
        Assert.True(matches.Count == 1, $"expected one {kind} {name}, found {matches.Count}; rendered: {string.Join(", ", Resources.Select(r => S(r["kind"]) + "/" + S(r["metadata"]?["name"])))}");
        return matches[0];
    }

    private static string? S(JsonNode? node) => node?.GetValue<string>();

    private static JsonObject SiloSet => Single("StatefulSet", "silo");

    private static JsonObject RedisSet => Single("StatefulSet", "redis");

    private static JsonObject PodSpec(JsonObject set) => set["spec"]!["template"]!["spec"]!.AsObject();

    private static JsonObject Container(JsonObject set, string name) =>
        PodSpec(set)["containers"]!.AsArray().Single(c => S(c!["name"]) == name)!.AsObject();

    private static Dictionary<string, string> Labels(JsonNode? labels) =>
        labels?.AsObject().ToDictionary(l => l.Key, l => S(l.Value)!, StringComparer.Ordinal) ?? [];

    private static Dictionary<string, string> PodLabels(JsonObject set) => Labels(set["spec"]!["template"]!["metadata"]!["labels"]);

    private static bool Selects(Dictionary<string, string> selector, Dictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);

    private static JsonObject Env(JsonObject container, string name)
    {
        var entries = container["env"]!.AsArray().Where(e => S(e!["name"]) == name).ToList();
        Assert.True(entries.Count == 1, $"env {name}: {entries.Count} entries");
        return entries[0]!.AsObject();
    }

    private static string EnvValue(JsonObject container, string name) => S(Env(container, name)["value"]) ?? throw new InvalidOperationException(name + " has no value");

    private static int EnvIndex(JsonObject container, string name) =>
        container["env"]!.AsArray().Select((e, i) => (e, i)).Single(x => S(x.e!["name"]) == name).i;

    private static string ContainerPort(JsonObject container, string portName) =>
        S(container["ports"]!.AsArray().Single(p => S(p!["name"]) == portName)!["containerPort"])!;

    [Fact]
    public void Every_namespaced_resource_is_in_the_orleansshards_namespace()
    {
        Single("Namespace", Namespace);
        foreach (var resource in Resources.Where(r => S(r["kind"]) != "Namespace"))
        {
            Assert.Equal(Namespace, S(resource["metadata"]!["namespace"]));
        }
    }

    [Fact]
    public void Silo_statefulset_runs_three_replicas_with_pod_name_and_ip_from_the_downward_api()
    {
        var set = SiloSet;
        Assert.Equal("3", S(set["spec"]!["replicas"]));
        var silo = Container(set, "silo");
        Assert.Equal("metadata.name", S(Env(silo, "POD_NAME")["valueFrom"]!["fieldRef"]!["fieldPath"]));
        Assert.Equal("metadata.namespace", S(Env(silo, "POD_NAMESPACE")["valueFrom"]!["fieldRef"]!["fieldPath"]));
        Assert.Equal("status.podIP", S(Env(silo, "POD_IP")["valueFrom"]!["fieldRef"]!["fieldPath"]));

        // The silo name is the pod name and the advertised address the pod IP; $(VAR) only expands variables defined earlier.
        Assert.Equal("$(POD_NAME)", EnvValue(silo, "Shards__Cluster__SiloName"));
        Assert.True(EnvIndex(silo, "POD_NAME") < EnvIndex(silo, "Shards__Cluster__SiloName"));
        Assert.Equal("$(POD_IP)", EnvValue(silo, "Shards__Cluster__AdvertisedAddress"));
        Assert.True(EnvIndex(silo, "POD_IP") < EnvIndex(silo, "Shards__Cluster__AdvertisedAddress"));
        Assert.Equal("3", EnvValue(silo, "Shards__Cluster__ReplicationFactor"));
    }

    [Fact]
    public void Silo_ports_match_the_cluster_settings_and_both_services()
    {
        var silo = Container(SiloSet, "silo");
        Assert.Equal(EnvValue(silo, "Shards__Cluster__SiloPort"), ContainerPort(silo, "silo"));
        Assert.Equal(EnvValue(silo, "Shards__Cluster__GatewayPort"), ContainerPort(silo, "gateway"));
        Assert.Equal("11111", ContainerPort(silo, "silo"));
        Assert.Equal("30000", ContainerPort(silo, "gateway"));
        Assert.Equal("8080", ContainerPort(silo, "http"));

        // The image listens on 8080 (deploy/Dockerfile's entry point), the port the container declares.
        var dockerfile = File.ReadAllText(Path.Combine(ReadmeTests.RepositoryRoot(), "deploy", "Dockerfile"));
        Assert.Contains("http://0.0.0.0:" + ContainerPort(silo, "http"), dockerfile, StringComparison.Ordinal);

        var headless = Single("Service", S(SiloSet["spec"]!["serviceName"])!);
        Assert.Equal("None", S(headless["spec"]!["clusterIP"]));
        var headlessPorts = headless["spec"]!["ports"]!.AsArray().ToDictionary(p => S(p!["name"])!, p => (Port: S(p!["port"]), Target: S(p!["targetPort"])));
        Assert.Equal(("11111", "silo"), headlessPorts["silo"]);
        Assert.Equal(("30000", "gateway"), headlessPorts["gateway"]);

        var client = Single("Service", "orleansshards");
        var http = client["spec"]!["ports"]!.AsArray().Single()!;
        Assert.Equal("8080", S(http["port"]));
        Assert.Equal("http", S(http["targetPort"]));
    }

    [Fact]
    public void Silo_services_and_the_disruption_budget_select_the_silo_pods_and_not_redis()
    {
        var siloPods = PodLabels(SiloSet);
        var redisPods = PodLabels(RedisSet);
        Assert.True(Selects(Labels(SiloSet["spec"]!["selector"]!["matchLabels"]), siloPods), "the StatefulSet's selector does not match its pod template");
        foreach (var name in new[] { "orleansshards", "orleansshards-silos" })
        {
            var selector = Labels(Single("Service", name)["spec"]!["selector"]);
            Assert.True(Selects(selector, siloPods), $"Service {name} does not select the silo pods");
            Assert.False(Selects(selector, redisPods), $"Service {name} selects the Redis pod too");
        }

        var pdb = Single("PodDisruptionBudget", "silo");
        Assert.Equal("policy/v1", S(pdb["apiVersion"]));
        Assert.Equal("1", S(pdb["spec"]!["maxUnavailable"]));
        var pdbSelector = Labels(pdb["spec"]!["selector"]!["matchLabels"]);
        Assert.True(Selects(pdbSelector, siloPods), "the PodDisruptionBudget does not select the silo pods");
        Assert.False(Selects(pdbSelector, redisPods), "the PodDisruptionBudget selects the Redis pod");
    }

    [Fact]
    public void Silo_pods_carry_the_orleans_labels_the_kubernetes_agent_selects_with_the_configured_ids()
    {
        var labels = PodLabels(SiloSet);
        var silo = Container(SiloSet, "silo");
        Assert.Equal(EnvValue(silo, "Shards__Cluster__ServiceId"), labels["orleans/serviceId"]);
        Assert.Equal(EnvValue(silo, "Shards__Cluster__ClusterId"), labels["orleans/clusterId"]);
    }

    [Fact]
    public void Each_silo_has_its_own_volume_at_the_data_directory()
    {
        var set = SiloSet;
        var silo = Container(set, "silo");
        var claim = set["spec"]!["volumeClaimTemplates"]!.AsArray().Single()!;
        var claimName = S(claim["metadata"]!["name"]);
        Assert.Equal("ReadWriteOnce", S(claim["spec"]!["accessModes"]![0]));
        var mount = silo["volumeMounts"]!.AsArray().Single(m => S(m!["name"]) == claimName)!;
        Assert.Equal(EnvValue(silo, "Shards__DataDirectory"), S(mount["mountPath"]));
    }

    [Fact]
    public void Silo_is_ready_on_health_and_terminates_gracefully()
    {
        var spec = PodSpec(SiloSet);
        var silo = Container(SiloSet, "silo");
        var readiness = silo["readinessProbe"]!["httpGet"]!;
        Assert.Equal("/health", S(readiness["path"]));
        Assert.Equal("http", S(readiness["port"]));
        Assert.Equal("/health", S(silo["livenessProbe"]!["httpGet"]!["path"]));

        // preStop pause + .NET's 30 s host shutdown fit in the grace period.
        var grace = int.Parse(S(spec["terminationGracePeriodSeconds"])!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(grace >= 40, $"terminationGracePeriodSeconds {grace}");
        Assert.NotNull(silo["lifecycle"]?["preStop"]);
    }

    [Fact]
    public void Silo_reads_api_keys_from_the_generated_secret()
    {
        var silo = Container(SiloSet, "silo");
        var secretName = S(silo["envFrom"]!.AsArray().Single()!["secretRef"]!["name"])!;
        var secret = Single("Secret", secretName);
        Assert.StartsWith("orleansshards-api-keys", secretName, StringComparison.Ordinal);
        var keys = secret["data"]!.AsObject().Select(d => d.Key).ToList();
        Assert.Contains("Shards__ApiKeys__0__Tenant", keys);
        Assert.Contains("Shards__ApiKeys__0__KeySha256", keys);
    }

    [Fact]
    public void Silo_service_account_is_bound_to_a_role_that_can_read_watch_and_label_pods()
    {
        var account = S(PodSpec(SiloSet)["serviceAccountName"])!;
        Single("ServiceAccount", account);
        var binding = Resources.Single(r => S(r["kind"]) == "RoleBinding" && r["subjects"]!.AsArray().Any(s => S(s!["kind"]) == "ServiceAccount" && S(s["name"]) == account));
        Assert.Equal("Role", S(binding["roleRef"]!["kind"]));
        var role = Single("Role", S(binding["roleRef"]!["name"])!);
        var podRule = role["rules"]!.AsArray().Single(r => r!["resources"]!.AsArray().Any(x => S(x) == "pods"))!;
        var verbs = podRule["verbs"]!.AsArray().Select(S).ToHashSet();
        Assert.Superset(new HashSet<string?> { "get", "list", "watch", "patch" }, verbs);
    }

    [Fact]
    public void Redis_keeps_an_append_only_file_on_its_own_volume_and_the_silos_point_at_its_service()
    {
        var redis = Container(RedisSet, "redis");
        var args = redis["args"]!.AsArray().Select(S).ToList();
        var appendOnly = args.IndexOf("--appendonly");
        Assert.True(appendOnly >= 0 && args[appendOnly + 1] == "yes", "redis-server runs without --appendonly yes: " + string.Join(' ', args));
        var dir = args[args.IndexOf("--dir") + 1];
        var claim = S(RedisSet["spec"]!["volumeClaimTemplates"]!.AsArray().Single()!["metadata"]!["name"]);
        Assert.NotEqual(S(SiloSet["spec"]!["volumeClaimTemplates"]![0]!["metadata"]!["name"]), claim);
        Assert.Equal(dir, S(redis["volumeMounts"]!.AsArray().Single(m => S(m!["name"]) == claim)!["mountPath"]));

        var service = Resources.Single(r => S(r["kind"]) == "Service" && Selects(Labels(r["spec"]!["selector"]), PodLabels(RedisSet)));
        var port = S(service["spec"]!["ports"]!.AsArray().Single()!["port"]);
        var connection = EnvValue(Container(SiloSet, "silo"), "Shards__Cluster__Redis");
        Assert.StartsWith($"{S(service["metadata"]!["name"])}:{port}", connection, StringComparison.Ordinal);
        Assert.Equal("6379", ContainerPort(redis, "redis"));
    }
}
