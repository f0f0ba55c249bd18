"""OpenAI Agents SDK: the same tool agent, streamed (Runner.run_streamed -> Responses API SSE)."""

import asyncio

from agents import Agent, Runner, function_tool, set_tracing_disabled
from openai.types.responses import ResponseTextDeltaEvent

set_tracing_disabled(True)


@function_tool
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"It is 22 degrees and sunny in {city}."


agent = Agent(
    name="Weather assistant", instructions="Use get_weather.", model="gpt-4o-mini", tools=[get_weather]
)


async def main() -> None:
    result = Runner.run_streamed(agent, "What's the weather in Paris?")
    async for event in result.stream_events():
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            print(event.data.delta, end="", flush=True)
    print()
    print("final:", result.final_output)


asyncio.run(main())
