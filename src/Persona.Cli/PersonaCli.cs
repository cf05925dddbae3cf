using System.CommandLine;
using Persona.Cli.Commands;

namespace Persona.Cli;

/// <summary>The <c>persona</c> command tree.</summary>
public static class PersonaCli
{
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("Persona: user profiles (用户画像), recommendations, search and audiences for e-commerce.");
        root.Add(DemoCommand.Create());
        root.Add(ImportCommand.Create());
        root.Add(ServeCommand.Create());
        root.Add(ProfileCommand.Create());
        root.Add(TrainCommand.Create());
        root.Add(ModelsCommand.Create());
        root.Add(ExperimentsCommand.Create());
        root.Add(OnlineCommand.Create());
        root.Add(LlmCommand.Create());
        root.Add(RecommendCommand.Create());
        root.Add(EvaluateCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(SegmentsCommand.Create());
        root.Add(AudienceCommand.Create());
        root.Add(SearchCommand.Create());
        root.Add(KeysCommand.Create());
        root.Add(StateCommand.Create());
        StoreChoice.AddTo(root);
        return root;
    }
}
