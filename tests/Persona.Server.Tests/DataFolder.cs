using Microsoft.Data.Sqlite;

namespace Persona.Server.Tests;

/// <summary>A temporary data folder for one test, removed afterwards, with raw SQL on its store (to damage or rewind derived state).</summary>
internal sealed class DataFolder(string prefix) : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix, Guid.NewGuid().ToString("n"));

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={System.IO.Path.Combine(Path, "persona.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
