using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Persona.Hosting;

namespace Persona.Messaging.RabbitMq;

public static class RabbitMqHostingExtensions
{
    /// <summary>
    /// Consumes event batches from RabbitMQ when <c>Persona:RabbitMq:Uri</c> is set (validated at start-up); otherwise
    /// adds nothing that runs. Call after <c>AddPersona</c>, so the engine has loaded before the first message.
    /// </summary>
    public static IHostApplicationBuilder AddPersonaRabbitMqIngest(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<RabbitMqIngestOptions, RabbitMqIngestOptionsValidator>(RabbitMqIngestOptions.SectionName, configure: null);
        var options = new RabbitMqIngestOptions();
        builder.Configuration.GetSection(RabbitMqIngestOptions.SectionName).Bind(options);
        if (options.Enabled)
        {
            builder.Services.AddSingleton(new RabbitMqIngestStatus(options.Queue));
            builder.Services.AddHostedService<RabbitMqIngestService>();
        }
        return builder;
    }
}
