using IpvsOperator.Runtime.Controllers;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>KubeOps-style registration: <c>services.AddOperator(election).AddController&lt;C, T&gt;().AddFinalizer&lt;F, T&gt;()</c>.</summary>
public static class OperatorServiceCollectionExtensions
{
    public static OperatorBuilder AddOperator(this IServiceCollection services, LeaderElectionOptions election)
    {
        var builder = new OperatorBuilder(services);
        services.AddSingleton(election);
        services.AddSingleton(provider =>
        {
            var runtime = new OperatorRuntime(provider.GetRequiredService<IKubernetes>(), election, provider.GetRequiredService<ILoggerFactory>());
            foreach (var register in builder.Registrations)
            {
                register(runtime, provider);
            }
            return runtime;
        });
        services.AddHostedService<OperatorHostedService>();
        return builder;
    }
}

public sealed class OperatorBuilder(IServiceCollection services)
{
    internal List<Action<OperatorRuntime, IServiceProvider>> Registrations { get; } = [];

    public IServiceCollection Services => services;

    public OperatorBuilder AddController<TController, TEntity>(ControllerOptions? options = null)
        where TController : class, IEntityController<TEntity>
        where TEntity : class, IKubernetesObject<V1ObjectMeta>
    {
        services.AddSingleton<TController>();
        Registrations.Add((runtime, provider) => runtime.AddController(
            () => provider.GetRequiredService<TController>(),
            () => provider.GetServices<IEntityFinalizer<TEntity>>(),
            options));
        return this;
    }

    public OperatorBuilder AddFinalizer<TFinalizer, TEntity>()
        where TFinalizer : class, IEntityFinalizer<TEntity>
        where TEntity : class, IKubernetesObject<V1ObjectMeta>
    {
        services.AddSingleton<IEntityFinalizer<TEntity>, TFinalizer>();
        return this;
    }
}

/// <summary>Runs the operator runtime for the life of the host.</summary>
internal sealed class OperatorHostedService(OperatorRuntime runtime) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => runtime.RunAsync(stoppingToken);
}
