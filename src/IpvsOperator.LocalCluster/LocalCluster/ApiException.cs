using System.Net;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>An API error, answered as a Kubernetes Status object with the matching code and reason.</summary>
internal sealed class ApiException(HttpStatusCode code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public HttpStatusCode Code { get; } = code;
    public string Reason { get; } = reason;
    public JsonObject? Details { get; } = details;

    public JsonObject ToStatus() => Status(Code, Reason, Message, Details);

    public static JsonObject Status(HttpStatusCode code, string reason, string message, JsonObject? details = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["code"] = (int)code,
        };
        if (reason.Length == 0)
        {
            // As upstream's omitempty: no reason is no field (kubectl then prints "Error from server: ...").
            status.Remove("reason");
        }
        if (details is not null)
        {
            status["details"] = details;
        }
        return status;
    }

    private static JsonObject NameDetails(ApiResource resource, string name) =>
        new() { ["name"] = name, ["group"] = resource.Group, ["kind"] = resource.Plural };

    public static ApiException NotFound(ApiResource resource, string name) =>
        new(HttpStatusCode.NotFound, "NotFound", $"{resource.QualifiedName} \"{name}\" not found", NameDetails(resource, name));

    public static ApiException AlreadyExists(ApiResource resource, string name) =>
        new(HttpStatusCode.Conflict, "AlreadyExists", $"{resource.QualifiedName} \"{name}\" already exists", NameDetails(resource, name));

    public static ApiException Conflict(ApiResource resource, string name, string why) =>
        new(HttpStatusCode.Conflict, "Conflict", $"Operation cannot be fulfilled on {resource.QualifiedName} \"{name}\": {why}", NameDetails(resource, name));

    public static ApiException StaleUpdate(ApiResource resource, string name) =>
        Conflict(resource, name, "the object has been modified; please apply your changes to the latest version and try again");

    public static ApiException Invalid(ApiResource resource, string name, IReadOnlyList<(string Field, string Message)> causes)
    {
        var details = NameDetails(resource, name);
        details["kind"] = resource.Kind;
        details["causes"] = new JsonArray([.. causes.Select(c => (JsonNode)new JsonObject
        {
            ["reason"] = ReasonOf(c.Message),
            ["message"] = c.Message,
            ["field"] = c.Field,
        })]);
        var text = causes.Count == 1 ? $"{causes[0].Field}: {causes[0].Message}" : $"[{string.Join(", ", causes.Select(c => $"{c.Field}: {c.Message}"))}]";
        return new ApiException((HttpStatusCode)422, "Invalid", $"{resource.Kind}.{resource.Group} \"{name}\" is invalid: {text}".Replace(". \"", " \"", StringComparison.Ordinal), details);
    }

    /// <summary>The cause's reason, as field.ErrorType names it, from the message's opening words.</summary>
    private static string ReasonOf(string message) => message switch
    {
        _ when message.StartsWith("Required value", StringComparison.Ordinal) => "FieldValueRequired",
        _ when message.StartsWith("Duplicate value", StringComparison.Ordinal) => "FieldValueDuplicate",
        _ when message.StartsWith("Unsupported value", StringComparison.Ordinal) => "FieldValueNotSupported",
        _ when message.StartsWith("Forbidden", StringComparison.Ordinal) => "FieldValueForbidden",
        _ when message.StartsWith("Too long", StringComparison.Ordinal) => "FieldValueTooLong",
        _ when message.StartsWith("Too many", StringComparison.Ordinal) => "FieldValueTooMany",
        _ => "FieldValueInvalid",
    };

    /// <summary>Invalid options of a request (PatchOptions and the like): 422 naming the option, as upstream.</summary>
    public static ApiException InvalidOptions(string options, string field, string message) =>
        new((HttpStatusCode)422, "Invalid", $"{options} \"\" is invalid: {field}: {message}", new JsonObject
        {
            ["group"] = "meta.k8s.io",
            ["kind"] = options.Split('.')[0],
            ["causes"] = new JsonArray(new JsonObject { ["reason"] = ReasonOf(message), ["message"] = message, ["field"] = field }),
        });

    public static ApiException BadRequest(string message) => new(HttpStatusCode.BadRequest, "BadRequest", message);

    public static ApiException Forbidden(ApiResource resource, string name, string why) =>
        new(HttpStatusCode.Forbidden, "Forbidden", $"{resource.QualifiedName} \"{name}\" is forbidden: {why}", NameDetails(resource, name));

    public static ApiException Gone(string message) => new(HttpStatusCode.Gone, "Expired", message);

    public static ApiException UnsupportedMediaType(string message) => new(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", message);

    public static ApiException MethodNotAllowed(string message) => new(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", message);
}
