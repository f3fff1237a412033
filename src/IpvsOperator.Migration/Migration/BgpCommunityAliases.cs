using System.Globalization;

namespace IpvsOperator.Migration;

/// <summary>
/// A BGPAdvertisement's communities as MetalLB reads them: a Community object's alias, a standard
/// community <c>AA:NN</c>, or a large one written <c>large:A:B:C</c>. IpvsOperator keeps the two
/// kinds in two lists, large ones without the marker.
/// </summary>
internal sealed class BgpCommunityAliases(IReadOnlyDictionary<string, string> aliases)
{
    private const string LargeMarker = "large";

    /// <summary>(large, value as IpvsOperator writes it), or null with the reason.</summary>
    public ((bool Large, string Value)? Community, string? Problem) Resolve(string text)
    {
        var value = aliases.TryGetValue(text, out var aliased) ? aliased : text;
        var parts = value.Split(':');
        if (parts.Length == 2 && parts.All(p => ushort.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return ((false, string.Join(':', parts.Select(p => ushort.Parse(p, CultureInfo.InvariantCulture)))), null);
        }
        if (parts.Length == 4 && parts[0] == LargeMarker && parts.Skip(1).All(p => uint.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return ((true, string.Join(':', parts.Skip(1).Select(p => uint.Parse(p, CultureInfo.InvariantCulture)))), null);
        }
        return (null, aliases.ContainsKey(text)
            ? $"the alias '{text}' stands for '{value}', which is neither AA:NN (each 0 to 65535) nor large:A:B:C"
            : $"'{text}' is neither AA:NN (each 0 to 65535), large:A:B:C, nor an alias of a Community object in the input");
    }
}
