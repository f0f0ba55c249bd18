"""The APIs the simulator speaks: one module pair per endpoint (reading the request, writing the reply),
and what they share: the model's output, tool calls, output formats, stream scripts."""
