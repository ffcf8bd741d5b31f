using System.Reflection;
using System.Reflection.Emit;
using Custodian.Lookup;
using Custodian.Protection.Subscribers;

namespace Custodian.Tests;

/// <summary>Design rules as tests: only the lookup path can reach plaintext.</summary>
public sealed class ArchitectureTests
{
    [Theory]
    [InlineData("Custodian.Ledger")]
    [InlineData("Custodian.Monitoring")]
    [InlineData("Custodian.Access")]
    [InlineData("Custodian.Core")]
    public void Projections_do_not_reference_the_protection_assembly(string assembly)
    {
        var references = Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain("Custodian.Protection", references);
    }

    [Fact]
    public void Only_the_lookup_guard_calls_the_decryption_api()
    {
        // Both decrypting calls: by id, and of a row read as stored before the ledger append.
        MethodInfo[] decrypting =
        [
            typeof(SubscriberVault).GetMethod(nameof(SubscriberVault.DecryptAsync))!,
            typeof(SubscriberVault).GetMethod(nameof(SubscriberVault.Decrypt), [typeof(SealedSubscriber)])!,
        ];
        var host = typeof(LookupGuard).Assembly;
        var callers = new HashSet<Type>();
        foreach (var type in host.GetTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Cast<MethodBase>()
                .Concat(type.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static)))
            {
                if (decrypting.Any(decrypt => Calls(method, decrypt)))
                {
                    var outer = type;
                    while (outer.DeclaringType is not null)
                    {
                        outer = outer.DeclaringType;
                    }

                    callers.Add(outer);
                }
            }
        }

        Assert.Equal([typeof(LookupGuard)], callers);
    }

    [Fact]
    public void Only_the_outbox_reader_decrypts_sms_bodies()
    {
        // Outbox bodies hold one-time codes: encrypted at rest, opened only by the reader that tests, the simulator,
        // the bench and 'custodian outbox list' use (docs/storage.md, "The SMS outbox").
        var open = typeof(Custodian.Protection.Keys.SmsBodyCipher).GetMethod(nameof(Custodian.Protection.Keys.SmsBodyCipher.Open))!;
        Assert.Equal([typeof(Custodian.Messaging.OutboxSmsSender)], CallersOf(open));
    }

    private static HashSet<Type> CallersOf(MethodInfo target)
    {
        var callers = new HashSet<Type>();
        foreach (var type in typeof(LookupGuard).Assembly.GetTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Cast<MethodBase>()
                .Concat(type.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static)))
            {
                if (Calls(method, target))
                {
                    var outer = type;
                    while (outer.DeclaringType is not null)
                    {
                        outer = outer.DeclaringType;
                    }

                    callers.Add(outer);
                }
            }
        }

        return callers;
    }

    private static bool Calls(MethodBase method, MethodInfo target)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            return false;
        }

        for (var i = 0; i < il.Length - 4; i++)
        {
            if (il[i] != OpCodes.Call.Value && il[i] != OpCodes.Callvirt.Value)
            {
                continue;
            }

            var token = BitConverter.ToInt32(il, i + 1);
            try
            {
                if (method.Module.ResolveMethod(token) is MethodInfo called && called.MetadataToken == target.MetadataToken && called.Module == target.Module)
                {
                    return true;
                }
            }
            catch (ArgumentException)
            {
                // Not a method token at this offset (the byte was an operand of another instruction).
            }
        }

        return false;
    }
}
