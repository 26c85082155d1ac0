namespace Twyla.Streams.TestKit;

/// <summary>An expectation of the Twyla TestKit that did not hold (the message says what was expected and what happened).</summary>
public sealed class TwylaAssertionException : Exception
{
    /// <summary>An assertion failure without a message.</summary>
    public TwylaAssertionException()
    {
    }

    /// <summary>An assertion failure.</summary>
    /// <param name="message">What was expected and what happened.</param>
    public TwylaAssertionException(string message)
        : base(message)
    {
    }

    /// <summary>An assertion failure with its cause.</summary>
    /// <param name="message">What was expected and what happened.</param>
    /// <param name="innerException">The cause.</param>
    public TwylaAssertionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
