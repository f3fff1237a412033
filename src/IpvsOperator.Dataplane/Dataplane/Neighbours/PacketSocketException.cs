using System.Runtime.InteropServices;

namespace IpvsOperator.Dataplane.Neighbours;

/// <summary>The AF_PACKET socket that sends neighbour announcements failed: errno and what was asked.</summary>
internal sealed class PacketSocketException(int errorNumber, string request, string? hint = null)
    : DataplaneException(DataplaneError.Failed, request, $"{Marshal.GetPInvokeErrorMessage(errorNumber)} (errno {errorNumber})", hint)
{
    public int ErrorNumber { get; } = errorNumber;
}
