using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Readers;

namespace IpvsOperator.Tests.Readers;

public class ClaimAddressTests
{
    private static V1Alpha1IPAllocation Claim(string? address) => new() { Spec = new IPAllocationSpec { Address = address! } };

    [TestCase("192.0.2.10")]
    [TestCase("2001:db8::a")]
    public void A_claim_names_the_address_of_its_spec(string address)
    {
        Claim(address).TryAddress(out var value).Should().BeTrue();

        value.Should().Be(IPAddressValue.Parse(address));
    }

    [TestCase("")]
    [TestCase(null)]
    [TestCase("192.0.2")]
    [TestCase("not-an-address")]
    public void A_claim_whose_text_is_no_address_names_none(string? address)
    {
        Claim(address).TryAddress(out _).Should().BeFalse();
        new V1Alpha1IPAllocation { Spec = null! }.TryAddress(out _).Should().BeFalse("a half-read object names no address");
    }

    [Test]
    public void The_addresses_of_claims_skip_those_that_name_none()
    {
        V1Alpha1IPAllocation[] claims = [Claim("192.0.2.1"), Claim("garbage"), Claim("2001:db8::1")];

        claims.Addresses().Should().Equal(IPAddressValue.Parse("192.0.2.1"), IPAddressValue.Parse("2001:db8::1"));
    }
}
