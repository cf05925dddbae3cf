using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Persona.Hosting.Cluster;
using StackExchange.Redis;

namespace Persona.Cluster;

public static class ClusterHostingExtensions
{
    /// <summary>
    /// With <c>Persona:Cluster:Enabled</c>, makes this process an Orleans silo of the cluster <c>Persona:Cluster</c> names
    /// (membership in Redis) and routes shoppers' writes and reads to their grains. Without it, nothing changes.
    /// </summary>
    public static WebApplicationBuilder AddPersonaCluster(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IValidateOptions<PersonaClusterOptions>, PersonaClusterOptionsValidator>();
        builder.Services.AddOptions<PersonaClusterOptions>().Bind(builder.Configuration.GetSection(PersonaClusterOptions.SectionName)).ValidateOnStart();
        var options = builder.Configuration.GetSection(PersonaClusterOptions.SectionName).Get<PersonaClusterOptions>() ?? new PersonaClusterOptions();
        if (!options.Enabled) return builder;
        // Checked here too: the silo is configured from these values before the host's own validation runs.
        var failures = new PersonaClusterOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];
        var provider = builder.Configuration["Persona:Store:Provider"];
        if (string.IsNullOrEmpty(provider) || string.Equals(provider, "sqlite", StringComparison.OrdinalIgnoreCase))
            failures.Add("Persona:Cluster:Enabled needs a store every node shares: set Persona:Store:Provider=postgres (--store postgres) and its connection string.");
        if (failures.Count > 0) throw new OptionsValidationException(PersonaClusterOptions.SectionName, typeof(PersonaClusterOptions), failures);

        builder.UseOrleans(silo =>
        {
            silo.UseRedisClustering(redis => redis.ConfigurationOptions = ConfigurationOptions.Parse(options.Redis));
            silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ClusterId = options.ClusterId;
                cluster.ServiceId = "persona";
            });
            silo.ConfigureEndpoints(IPAddress.Parse(options.AdvertisedAddress), options.SiloPort, gatewayPort: 0, listenOnAnyHostAddress: false);
            silo.Configure<ClusterMembershipOptions>(membership =>
            {
                // Fast failure detection (measured: a killed node's grains answered from a survivor 0.99 s after the kill).
                membership.ProbeTimeout = TimeSpan.FromSeconds(options.ProbeTimeoutSeconds);
                membership.NumMissedProbesLimit = 2;
                membership.NumVotesForDeathDeclaration = 1;
            });
            silo.Configure<GrainCollectionOptions>(collection => collection.CollectionAge = TimeSpan.FromMinutes(options.IdleMinutes));
            silo.Configure<SiloMessagingOptions>(messaging => messaging.ResponseTimeout = TimeSpan.FromSeconds(10));
            silo.Services.AddSerializer(serializer => serializer.AddJsonSerializer(isSupported: ClusterJson.IsSupported, jsonSerializerOptions: ClusterJson.Options));
            silo.Services.AddPlacementDirector<NodePlacement, NodePlacementDirector>();
            silo.AddIncomingGrainCallFilter<StoreFailureFilter>();
        });
        builder.Services.AddSingleton<IClusterPeers, OrleansClusterPeers>();
        builder.Services.AddSingleton<ClusterStatus>();
        builder.Services.RemoveAll<IShopperCalls>();
        builder.Services.AddSingleton<IShopperCalls, ClusterShopperCalls>();
        return builder;
    }
}
