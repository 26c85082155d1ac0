using Akka.Streams.Stage;

namespace Twyla.Streams.Transport;

/// <summary>
/// How a stage gets the transport session it opened in <c>PreStart</c>: the one rule the listen and emit stages share.
/// </summary>
internal static class SessionHandOver
{
    /// <summary>
    /// When <paramref name="opening"/> succeeds, hands the session to the stage through <paramref name="onOpened"/>
    /// (<c>InvokeWithFeedback</c>: if the stage is gone by then, nobody owns the session, so it is disposed here).
    /// When it fails or is cancelled, tells the stage through <paramref name="onFailed"/>: the failure, or an
    /// <see cref="OperationCanceledException"/> saying <paramref name="cancelled"/>.
    /// </summary>
    public static void HandOver<TSession>(Task<TSession> opening, IAsyncCallback<TSession> onOpened, Action<Exception> onFailed, string cancelled)
        where TSession : IAsyncDisposable =>
        opening.ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    var session = t.Result;
                    onOpened.InvokeWithFeedback(session).ContinueWith(
                        static (_, s) => _ = ((TSession)s!).DisposeAsync().AsTask(),
                        session,
                        CancellationToken.None,
                        TaskContinuationOptions.NotOnRanToCompletion,
                        TaskScheduler.Default);
                }
                else
                {
                    onFailed(t.Exception?.GetBaseException() ?? new OperationCanceledException(cancelled));
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
}
