namespace IpvsOperator.Runtime.Webhooks;

/// <summary>A validating admission webhook (KubeOps' <c>ValidationWebhook&lt;T&gt;</c>, by path).</summary>
public interface IAdmissionValidator
{
    Task<AdmissionVerdict> ValidateAsync(AdmissionRequest request, CancellationToken cancellationToken);
}
