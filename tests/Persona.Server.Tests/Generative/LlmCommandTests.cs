extern alias cli;

using System.CommandLine;

namespace Persona.Server.Tests.Generative;

/// <summary><c>persona llm check</c> against the fake endpoint: what it prints, its exit codes, and that the key stays out.</summary>
public sealed class LlmCommandTests
{
    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await cli::Persona.Cli.PersonaCli.BuildRootCommand().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Check_SaysWhatAnswered_AndExitCodesTellTheOutcome()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = _ => FakeReply.Say("ready", model: "fake-7b");
        Environment.SetEnvironmentVariable("PERSONA_TEST_LLM_KEY", "sk-never-printed");
        try
        {
            var (exit, output, error) = await RunAsync("llm", "check", "--base-url", server.BaseUrl, "--model", "fake-7b", "--key-env", "PERSONA_TEST_LLM_KEY");
            Assert.True(exit == 0, error);
            Assert.Contains("model fake-7b answered: ready", output, StringComparison.Ordinal);
            Assert.Contains("key from PERSONA_TEST_LLM_KEY", output, StringComparison.Ordinal);
            Assert.DoesNotContain("sk-never-printed", output + error, StringComparison.Ordinal);
            Assert.Equal("Bearer sk-never-printed", server.Requests.Single().Authorization);

            server.Reply = _ => new FakeReply(401, """{"error":{"message":"bad key"}}""");
            (exit, output, error) = await RunAsync("llm", "check", "--base-url", server.BaseUrl, "--model", "fake-7b", "--key-env", "PERSONA_TEST_LLM_KEY");
            Assert.Equal(1, exit);
            Assert.Contains("the key was refused", error, StringComparison.Ordinal);
            Assert.DoesNotContain("sk-never-printed", output + error, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PERSONA_TEST_LLM_KEY", null);
        }

        var (unset, _, unsetError) = await RunAsync("llm", "check");
        Assert.Equal(2, unset);
        Assert.Contains("No endpoint configured", unsetError, StringComparison.Ordinal);
    }
}
