using IpvsOperator.Addressing;

namespace IpvsOperator.Readers;

/// <summary>
/// The name of the IPAllocation object that claims an address: <c>ipv4-192-0-2-10</c>,
/// <c>ipv6-2001-db8--a</c>. Dots and colons become dashes. An IPv6 form ending in "::" gets a
/// trailing 0 ("2001:db8::" is "ipv6-2001-db8--0"), because an object name must end in a letter or
/// digit. The mapping is one-to-one and reversible: every address has exactly one name.
/// </summary>
public static class AllocationNames
{
    public static string For(IPAddressValue address)
    {
        if (address.Family == IPFamily.IPv4)
        {
            return "ipv4-" + address.ToString().Replace('.', '-');
        }
        var text = address.ToString().Replace(':', '-');
        return "ipv6-" + (text.EndsWith('-') ? text + "0" : text);
    }

    public static bool TryParse(string? name, out IPAddressValue address)
    {
        address = default;
        if (name is null || name.Length < 6)
        {
            return false;
        }
        var body = name[5..];
        string text;
        IPFamily family;
        if (name.StartsWith("ipv4-", StringComparison.Ordinal))
        {
            (text, family) = (body.Replace('-', '.'), IPFamily.IPv4);
        }
        else if (name.StartsWith("ipv6-", StringComparison.Ordinal))
        {
            (text, family) = (body.Replace('-', ':'), IPFamily.IPv6);
        }
        else
        {
            return false;
        }
        // Only the canonical name maps back: "ipv4-010-0-0-1" or an uppercase IPv6 name is not one.
        return IPAddressValue.TryParse(text, out address) && address.Family == family && For(address) == name;
    }
}
