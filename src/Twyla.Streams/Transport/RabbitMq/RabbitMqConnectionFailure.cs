using System.Net.Sockets;
using System.Security.Authentication;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// Says in one phrase why a connection to RabbitMQ failed (for health checks): refused credentials, a refused or
/// unknown virtual host, a rejected TLS handshake, an unreachable host. Names the user and the virtual host, never the
/// password.
/// </summary>
internal static class RabbitMqConnectionFailure
{
    public static string Describe(Exception failure, RabbitMqSettings settings)
    {
        var chain = Chain(failure).ToList();
        if (chain.OfType<PossibleAuthenticationFailureException>().FirstOrDefault() is { } auth)
        {
            return $"the broker refused the credentials of user '{settings.UserName}' ({ReplyText(chain) ?? auth.Message})";
        }

        if (chain.OfType<OperationInterruptedException>().Select(e => e.ShutdownReason).FirstOrDefault(r => r is not null) is { } reason)
        {
            return Describe(reason, settings);
        }

        if (chain.OfType<AuthenticationException>().FirstOrDefault() is { } tls)
        {
            return $"the TLS handshake failed ({tls.Message})";
        }

        if (chain.OfType<SocketException>().FirstOrDefault() is { } socket)
        {
            return $"the broker cannot be reached ({socket.Message})";
        }

        return string.Join("; ", chain.Select(e => e.Message).Distinct());
    }

    private static string Describe(ShutdownEventArgs reason, RabbitMqSettings settings) => reason.ReplyCode switch
    {
        Constants.AccessRefused when reason.ReplyText?.Contains("Login", StringComparison.OrdinalIgnoreCase) == true =>
            $"the broker refused the credentials of user '{settings.UserName}' ({reason.ReplyText})",
        Constants.AccessRefused => $"the broker refused user '{settings.UserName}' access ({reason.ReplyText})",
        Constants.NotAllowed => $"the broker refused the virtual host '{settings.VirtualHost}' for user '{settings.UserName}' ({reason.ReplyText})",
        _ => $"the broker closed the connection ({reason.ReplyCode} {reason.ReplyText})",
    };

    private static string? ReplyText(List<Exception> chain) =>
        chain.OfType<OperationInterruptedException>().Select(e => e.ShutdownReason?.ReplyText).FirstOrDefault(t => t is not null);

    private static IEnumerable<Exception> Chain(Exception failure)
    {
        var pending = new Stack<Exception>([failure]);
        while (pending.Count > 0)
        {
            var e = pending.Pop();
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.Reverse())
                {
                    pending.Push(inner);
                }
            }
            else if (e.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }
}
