using System.Net;
using System.Text.Json.Nodes;
using k8s.Autorest;

namespace IpvsOperator.Tests.Support;

public sealed record ApiError(HttpStatusCode Code, string Reason, string Message);

public static class ApiErrors
{
    /// <summary>Runs a call that must fail, and returns the API server's Status as the client saw it.</summary>
    public static async Task<ApiError> Of(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (IpvsOperator.Runtime.Client.ApiStatusException error)
        {
            return new ApiError(error.Code, error.Status.Reason ?? string.Empty, error.Status.Message ?? string.Empty);
        }
        catch (HttpOperationException error)
        {
            var status = JsonNode.Parse(error.Response.Content) as JsonObject;
            return new ApiError(error.Response.StatusCode, status?["reason"]?.GetValue<string>() ?? string.Empty, status?["message"]?.GetValue<string>() ?? string.Empty);
        }
        Assert.Fail("the call succeeded, but it was expected to fail");
        throw new InvalidOperationException();
    }
}
