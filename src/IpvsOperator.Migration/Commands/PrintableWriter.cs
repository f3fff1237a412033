using System.Text;
using IpvsOperator.Runtime.Text;

namespace IpvsOperator.Commands;

/// <summary>
/// A terminal's stream as the migration writes to it: its report quotes names and values from
/// MetalLB's objects, which anyone with write rights (or a file's author) chose, so each control
/// character but the newline is shown escaped (<see cref="TerminalText"/>) instead of reaching the terminal.
/// </summary>
internal sealed class PrintableWriter(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(TerminalText.Printable(value.ToString()));

    public override void Write(string? value) => inner.Write(value is null ? null : TerminalText.Printable(value));

    public override void WriteLine(string? value) => inner.WriteLine(value is null ? null : TerminalText.Printable(value));

    public override void Flush() => inner.Flush();
}
