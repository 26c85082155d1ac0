using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Twyla.Streams.Emit;

/// <summary>
/// Event ids: UUID version 7 (RFC 9562) with a 12-bit counter in <c>rand_a</c> (the RFC's "fixed-length dedicated
/// counter", method 1), so ids made by one process sort by creation order even within a millisecond.
/// <see cref="Guid.CreateVersion7()"/> alone is random within a millisecond.
/// </summary>
internal static class EventIds
{
    private const int CounterMax = 0xFFF;
    private const int RandomBufferSize = 256;
    private static readonly Lock Gate = new();
    private static long _lastMs;
    private static int _counter;

    // Random bits come from the OS's cryptographic generator in blocks (one call per 32 ids per thread): a call per
    // id was a measurable part of the emit path's CPU.
    [ThreadStatic]
    private static byte[]? _random;

    [ThreadStatic]
    private static int _randomUsed;

    public static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        NextRandom(bytes[8..]);
        long ms;
        int counter;
        lock (Gate)
        {
            ms = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _lastMs);
            if (ms == _lastMs && _counter < CounterMax)
            {
                _counter++;
            }
            else
            {
                if (ms == _lastMs)
                {
                    ms++; // counter exhausted: borrow the next millisecond, as the RFC allows
                }

                _counter = RandomNumberGenerator.GetInt32(0, CounterMax / 2); // leave room to count up
            }

            _lastMs = ms;
            counter = _counter;
        }

        BinaryPrimitives.WriteInt64BigEndian(bytes, ms << 16); // 48-bit timestamp, then two bytes we overwrite
        bytes[6] = (byte)(0x70 | (counter >> 8));
        bytes[7] = (byte)counter;
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true).ToString();
    }

    private static void NextRandom(Span<byte> destination)
    {
        var buffer = _random ??= new byte[RandomBufferSize];
        if (_randomUsed == 0 || _randomUsed + destination.Length > RandomBufferSize)
        {
            RandomNumberGenerator.Fill(buffer);
            _randomUsed = 0;
        }

        buffer.AsSpan(_randomUsed, destination.Length).CopyTo(destination);
        buffer.AsSpan(_randomUsed, destination.Length).Clear(); // used bits do not linger in memory
        _randomUsed += destination.Length;
    }
}
