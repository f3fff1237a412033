using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>
/// The twin's table weight (the kernel's last_weight, which the mh scheduler builds its table
/// with) lives and dies with its destination, as in the kernel: local mode runs for days with
/// endpoints coming and going, and what it forgets must not stay behind.
/// </summary>
public class InMemoryIpvsTableWeightTests
{
    private static readonly VirtualServiceKey Http = new(IPAddressValue.Parse("192.0.2.10"), IpvsProtocol.TCP, 80);
    private static readonly IPAddressValue Backend = IPAddressValue.Parse("10.0.0.11");

    [Test]
    public void A_drained_destination_keeps_its_last_serving_weight_and_one_added_at_zero_has_none()
    {
        var ipvs = new InMemoryIpvs();
        ipvs.AddService(new VirtualService(Http, "mh"));
        ipvs.AddDestination(Http, new Destination(Backend, 8080, Weight: 3));
        ipvs.AddDestination(Http, new Destination(IPAddressValue.Parse("10.0.0.12"), 8080, Weight: 0));

        ipvs.UpdateDestination(Http, new Destination(Backend, 8080, Weight: 0));
        ipvs.UpdateDestination(Http, new Destination(Backend, 8080, Weight: 0));

        ipvs.TableWeight(Http, Backend, 8080).Should().Be(3, "draining keeps the slots it had");
        ipvs.TableWeight(Http, IPAddressValue.Parse("10.0.0.12"), 8080).Should().Be(0, "it never served");
        ipvs.UpdateDestination(Http, new Destination(Backend, 8080, Weight: 5));
        ipvs.TableWeight(Http, Backend, 8080).Should().Be(5);
    }

    [Test]
    public void A_deleted_destination_has_no_table_weight_and_comes_back_with_the_weight_it_is_added_with()
    {
        var ipvs = new InMemoryIpvs();
        ipvs.AddService(new VirtualService(Http, "mh"));
        ipvs.AddDestination(Http, new Destination(Backend, 8080, Weight: 3));
        ipvs.UpdateDestination(Http, new Destination(Backend, 8080, Weight: 0));
        ipvs.DeleteDestination(Http, Backend, 8080);

        var read = () => ipvs.TableWeight(Http, Backend, 8080);
        read.Should().Throw<DataplaneException>().Which.Error.Should().Be(DataplaneError.NotFound);
        ipvs.AddDestination(Http, new Destination(Backend, 8080, Weight: 0));
        ipvs.TableWeight(Http, Backend, 8080).Should().Be(0, "a destination added anew starts from the weight it is added with");
    }

    [Test]
    public void A_deleted_service_takes_its_destinations_table_weights_with_it()
    {
        var ipvs = new InMemoryIpvs();
        ipvs.AddService(new VirtualService(Http, "mh"));
        ipvs.AddDestination(Http, new Destination(Backend, 8080, Weight: 2));
        ipvs.UpdateDestination(Http, new Destination(Backend, 8080, Weight: 0));
        ipvs.DeleteService(Http);
        ipvs.AddService(new VirtualService(Http, "mh"));

        var read = () => ipvs.TableWeight(Http, Backend, 8080);
        read.Should().Throw<DataplaneException>().Which.Error.Should().Be(DataplaneError.NotFound);
        ipvs.AddDestination(Http, new Destination(Backend, 8080, Weight: 0));
        ipvs.TableWeight(Http, Backend, 8080).Should().Be(0);
    }
}
