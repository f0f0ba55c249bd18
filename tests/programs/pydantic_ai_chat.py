"""Pydantic AI: an `openai-chat:` model (Chat Completions) with a tool and a pydantic output_type,
plus a plain streamed text run."""

from pydantic import BaseModel
from pydantic_ai import Agent


class Weather(BaseModel):
    city: str
    temperature_c: float
    summary: str


agent = Agent(
    "openai-chat:gpt-4o-mini",
    output_type=Weather,
    instructions="Look up the weather with the tool, then report it.",
)


@agent.tool_plain
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"It is 22 degrees and sunny in {city}."


result = agent.run_sync("What's the weather in Paris?")
print(result.output)

chat = Agent("openai-chat:gpt-4o-mini")
with chat.run_stream_sync("Write one sentence about the sea.") as response:
    for text in response.stream_text(delta=True):
        print(text, end="", flush=True)
print()
