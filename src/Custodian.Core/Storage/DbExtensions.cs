using System.Data.Common;

namespace Custodian.Storage;

/// <summary>Small helpers over ADO.NET commands so stores stay short and backend-neutral.</summary>
public static class DbExtensions
{
    /// <summary>Creates a command with <paramref name="sql"/> and the given <c>@name</c> parameters (null values become DBNull).</summary>
    public static DbCommand Command(this DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.AddParameter(name, value);
        }

        return command;
    }

    /// <summary>Creates a command on <paramref name="transaction"/>'s connection, enlisted in it, with <paramref name="sql"/> and the given <c>@name</c> parameters (null values become DBNull).</summary>
    /// <exception cref="InvalidOperationException">When the transaction has ended (it has no connection).</exception>
    public static DbCommand Command(this DbTransaction transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var connection = transaction.Connection ?? throw new InvalidOperationException("The transaction has ended.");
        var command = connection.Command(sql, parameters);
        command.Transaction = transaction;
        return command;
    }

    /// <summary>Adds one parameter; null becomes DBNull.</summary>
    public static DbParameter AddParameter(this DbCommand command, string name, object? value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        command.Parameters.Add(p);
        return p;
    }
}
