using IpvsOperator.Entities;

namespace IpvsOperator.Migration;

/// <summary>
/// The commands a report gives for a BGP password, since the migration's YAML never holds one (it
/// goes to terminals, files and Git): to copy MetalLB's Secret to where the node agents read it, or
/// to create one from a password MetalLB held in its BGPPeer. Only names and placeholders, no value.
/// </summary>
internal static class PasswordSecretCommands
{
    public static string Copy(string ns, string name) =>
        $"kubectl create secret generic -n {WellKnown.NodeNamespace} {name} --from-literal=password=\"$(kubectl get secret -n {ns} {name} -o jsonpath='{{.data.password}}' | base64 -d)\"";

    public static string Create(string name) =>
        $"kubectl create secret generic -n {WellKnown.NodeNamespace} {name} --from-file=password=FILE_HOLDING_THE_PASSWORD";
}
