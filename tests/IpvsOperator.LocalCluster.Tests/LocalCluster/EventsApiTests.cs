using System.Net;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// <c>events.k8s.io/v1</c> served from the core Events' store, as upstream does (issue 35, item 9):
/// one object, two names for its fields, and the stricter checks of the newer API on what is
/// written through it.
/// </summary>
public class EventsApiTests : LocalClusterFixture
{
    private static Eventsv1Event NewEvent(string name, string ns) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        EventTime = DateTime.UtcNow,
        ReportingController = "ipvsoperator.io/controller",
        ReportingInstance = "controller-0",
        Action = "Allocate",
        Reason = "AddressAssigned",
        Type = "Normal",
        Note = "192.0.2.10 from pool lan",
        Regarding = new V1ObjectReference { Kind = "Service", Name = "web", NamespaceProperty = ns, ApiVersion = "v1" },
    };

    [Test]
    public async Task An_event_written_through_either_API_is_read_through_the_other()
    {
        var ns = await NewNamespaceAsync("events");
        await Client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "old-style" },
            InvolvedObject = new V1ObjectReference { Kind = "Service", Name = "web", NamespaceProperty = ns },
            Reason = "Synced",
            Message = "written by the core API",
            Type = "Normal",
            Count = 3,
            Source = new V1EventSource { Component = "ipvs-operator" },
        }, ns);

        var created = await Client.EventsV1.CreateNamespacedEventAsync(NewEvent("new-style", ns), ns);
        var seenNew = await Client.EventsV1.ReadNamespacedEventAsync("old-style", ns);
        var seenCore = await Client.CoreV1.ReadNamespacedEventAsync("new-style", ns);
        var listed = await Client.EventsV1.ListNamespacedEventAsync(ns);

        created.Regarding.Name.Should().Be("web");
        seenNew.Regarding.Name.Should().Be("web");
        seenNew.Note.Should().Be("written by the core API");
        seenNew.DeprecatedCount.Should().Be(3);
        seenNew.DeprecatedSource.Component.Should().Be("ipvs-operator");
        seenCore.InvolvedObject.Name.Should().Be("web");
        seenCore.Message.Should().Be("192.0.2.10 from pool lan");
        seenCore.ReportingComponent.Should().Be("ipvsoperator.io/controller");
        seenCore.Action.Should().Be("Allocate");
        seenCore.Metadata.ResourceVersion.Should().Be(created.Metadata.ResourceVersion, "it is one object in one store");
        listed.Items.Select(e => e.Metadata.Name).Should().BeEquivalentTo(["new-style", "old-style"]);
        listed.ApiVersion.Should().Be("events.k8s.io/v1");
    }

    [Test]
    public async Task An_event_written_through_events_k8s_io_must_carry_what_that_API_requires()
    {
        var ns = await NewNamespaceAsync("strictevents");
        var incomplete = NewEvent("incomplete", ns);
        incomplete.EventTime = null;
        incomplete.ReportingController = null;
        incomplete.Type = "Info";
        incomplete.DeprecatedCount = 2;

        var refused = (await FluentActions.Awaiting(() => Client.EventsV1.CreateNamespacedEventAsync(incomplete, ns))
            .Should().ThrowAsync<k8s.Autorest.HttpOperationException>()).Which;

        refused.Response.StatusCode.Should().Be((HttpStatusCode)422, refused.Response.Content);
        var fields = JsonNode.Parse(refused.Response.Content)!["details"]!["causes"]!.AsArray().Select(c => c!["field"]!.GetValue<string>());
        fields.Should().Contain(["eventTime", "reportingController", "type", "deprecatedCount"]);
        (await Client.CoreV1.ListNamespacedEventAsync(ns)).Items.Should().BeEmpty("nothing refused was stored");
    }

    [Test]
    public async Task Kubectl_gets_and_watches_events_of_events_k8s_io()
    {
        var ns = await NewNamespaceAsync("kubectlevents");
        await Client.EventsV1.CreateNamespacedEventAsync(NewEvent("assigned", ns), ns);
        using var kubectl = new KubectlSession(Server);

        var listed = await kubectl.RunAsync("get", "events.v1.events.k8s.io", "-n", ns);
        using var http = Server.CreateHttpClient();
        var watched = await http.GetStringAsync($"/apis/events.k8s.io/v1/namespaces/{ns}/events?watch=true&timeoutSeconds=1");
        await Client.CoreV1.PatchNamespacedEventAsync(new V1Patch("""{"message":"patched through the core API"}""", V1Patch.PatchType.MergePatch), "assigned", ns);
        var patched = await Client.EventsV1.PatchNamespacedEventAsync(new V1Patch("""{"note":"patched again"}""", V1Patch.PatchType.MergePatch), "assigned", ns);

        listed.ExitCode.Should().Be(0, listed.Error);
        listed.Output.Should().Contain("AddressAssigned").And.Contain("192.0.2.10 from pool lan");
        var added = JsonNode.Parse(watched.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0])!;
        added["object"]!["apiVersion"]!.GetValue<string>().Should().Be("events.k8s.io/v1");
        added["object"]!["note"]!.GetValue<string>().Should().Be("192.0.2.10 from pool lan");
        patched.Note.Should().Be("patched again");
        (await Client.CoreV1.ReadNamespacedEventAsync("assigned", ns)).Message.Should().Be("patched again");
    }
}
